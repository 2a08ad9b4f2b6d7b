# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch.distributed as dist

from projects.HilDA.hilda.utils import ConfigError, run_tool


@pytest.fixture
def world_of_one(tmp_path):
    """A gloo process group of one rank, in this process."""
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def record_calls(monkeypatch, calls):
    for name in ('barrier', 'destroy_process_group'):
        original = getattr(dist, name)

        def recorded(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(dist, name, recorded)


def test_finished_distributed_run_waits_for_all_ranks_then_ends_its_group(
        world_of_one, monkeypatch):
    calls = []
    record_calls(monkeypatch, calls)
    run_tool(lambda: calls.append('main'), 'tool.py')
    assert calls == ['main', 'barrier', 'destroy_process_group']
    assert not dist.is_initialized()


def test_failed_run_exits_with_one_line_and_leaves_the_group_alone(
        world_of_one, monkeypatch):
    """A rank that fails must not wait at a barrier its peers never reach."""
    calls = []
    record_calls(monkeypatch, calls)

    def main():
        raise ConfigError('bad.py: no model')

    with pytest.raises(SystemExit, match='tool.py: error: bad.py: no model'):
        run_tool(main, 'tool.py')
    assert calls == []
    assert dist.is_initialized()
