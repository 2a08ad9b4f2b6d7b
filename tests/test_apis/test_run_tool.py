# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch.distributed as dist

from projects.HilDA.hilda.apis import ConfigError, run_tool
from projects.HilDA.hilda.datasets import BadSampleError
from projects.HilDA.hilda.datasets.info_format import InfoFileError
from projects.HilDA.hilda.datasets.teacher_cache import TeacherCacheError
from projects.HilDA.hilda.engine.hooks.loss_guard_hook import \
    NonFiniteLossError
from projects.HilDA.hilda.engine.hooks.pretrained_weights_check_hook import \
    PretrainedWeightsError
from projects.HilDA.hilda.errors import HilDAError


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


@pytest.mark.parametrize('error', [
    BadSampleError('data/x.bin: 90 % of the points out of range'),
    InfoFileError('infos.pkl: empty data_list'),
    TeacherCacheError('cache/a.npz: written by another teacher'),
    PretrainedWeightsError('w.pth: 0 keys loaded'),
    NonFiniteLossError('loss is nan at iteration 3'),
])
def test_every_hilda_error_exits_with_its_one_line_message(error):
    """Bad-input errors raised while training reach the user as one line."""

    def main():
        raise error

    with pytest.raises(SystemExit) as info:
        run_tool(main, 'train.py')
    assert str(info.value) == f'train.py: error: {error}'


def test_hilda_errors_keep_their_builtin_kind():
    """``except ValueError`` around data loading keeps catching them."""
    assert issubclass(BadSampleError, ValueError)
    assert issubclass(InfoFileError, ValueError)
    assert issubclass(PretrainedWeightsError, RuntimeError)
    for cls in (BadSampleError, InfoFileError, TeacherCacheError,
                PretrainedWeightsError, NonFiniteLossError, ConfigError):
        assert issubclass(cls, HilDAError)


def test_other_errors_keep_their_traceback():
    """A programming error is not hidden behind a one-line message."""

    def main():
        raise KeyError('bug')

    with pytest.raises(KeyError):
        run_tool(main, 'train.py')
