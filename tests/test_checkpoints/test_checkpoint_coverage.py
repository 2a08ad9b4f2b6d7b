# Copyright (c) HilDA authors. All rights reserved.
"""tools/test.py refuses a checkpoint that leaves part of the model at its
initial weights, unless --allow-partial-load."""
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from projects.HilDA.hilda.checkpoints import (PartialCheckpointError,
                                              check_checkpoint_covers_model)
from tests.conftest import load_tool


def segmentor():
    model = nn.Module()
    model.backbone = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model.decode_head = nn.Linear(2, 3)
    return model


def save(path, state):
    torch.save(dict(state_dict=state, meta={}), str(path))
    return str(path)


def test_backbone_only_checkpoint_is_refused_naming_the_head(tmp_path):
    model = segmentor()
    backbone = {
        k: v
        for k, v in model.state_dict().items() if k.startswith('backbone.')
    }
    path = save(tmp_path / 'backbone.pth', backbone)
    with pytest.raises(PartialCheckpointError) as err:
        check_checkpoint_covers_model(model, path)
    msg = str(err.value)
    assert msg.startswith(f'{path} lacks 2 of the model\'s 9 weights')
    assert '(in decode_head;' in msg and '--allow-partial-load' in msg


def test_full_checkpoint_with_ddp_prefix_passes(tmp_path):
    model = segmentor()
    path = save(tmp_path / 'full.pth', {
        f'module.{k}': v
        for k, v in model.state_dict().items()
    })
    check_checkpoint_covers_model(model, path)


class FakeRunner:

    def __init__(self, model):
        self.model = model
        self.tested = False

    def test(self):
        self.tested = True


@pytest.mark.parametrize('allow', [False, True])
def test_test_tool_refuses_partial_checkpoint_unless_allowed(
        tmp_path, monkeypatch, allow):
    tool = load_tool('test.py')
    model = segmentor()
    path = save(tmp_path / 'pretrain.pth', {
        f'student.{k}': v
        for k, v in model.state_dict().items()
    })
    runner = FakeRunner(model)
    monkeypatch.setattr(tool, 'build_cfg', lambda args: SimpleNamespace())
    monkeypatch.setattr(tool, 'build_runner', lambda cfg: runner)
    argv = ['cfg.py', path] + (['--allow-partial-load'] if allow else [])
    if allow:
        tool.main(argv)
        assert runner.tested
    else:
        with pytest.raises(PartialCheckpointError, match='lacks 9 of'):
            tool.main(argv)
        assert not runner.tested
