# Copyright (c) HilDA authors. All rights reserved.
import copy
import os.path as osp
import shutil
import sys
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.config import Config
from mmengine.runner import BaseLoop, load_checkpoint
from torch import nn

from projects.HilDA.hilda.engine import (PretrainedWeightsCheckHook,
                                         PretrainedWeightsError)
from tests.conftest import REPO_ROOT
from tests.helpers.fake_exports import (DEMO_MINKUNET, DEMO_SPARSE_ENCODER,
                                        fake_export)
from tests.helpers.subprocesses import run_command
from tests.helpers.tiny_demo_world import tiny_demo_root

HILDA_DEMO = osp.join(
    REPO_ROOT, 'configs', 'finetune',
    'minkunet18-w16_spconv-hilda_1xb2-200iter_demo-lidarseg.py')


@pytest.fixture(scope='module')
def minkunet_export(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('export') / 'minkunet.pth')
    fake_export(DEMO_MINKUNET, 'minkunet', path)
    return path


def segmentor(checkpoint, prefix):
    """The demo config's MinkUNet with the given Pretrained init_cfg,
    after init_weights (what the Runner does before training)."""
    cfg = copy.deepcopy(Config.fromfile(HILDA_DEMO).model)
    cfg.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=checkpoint, prefix=prefix)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def fake_runner(model, load_from=None):
    # A training run: its train loop is built (a BaseLoop) by before_run.
    return SimpleNamespace(
        model=model,
        cfg=Config(dict(load_from=load_from)),
        _train_loop=MagicMock(spec=BaseLoop))


def backbone_check_error(model, stage):
    """The message of the PretrainedWeightsError that the backbone check
    raises at ``stage`` ('before_run' or 'before_train')."""
    hook = PretrainedWeightsCheckHook(module='backbone')
    with pytest.raises(PretrainedWeightsError) as error:
        getattr(hook, stage)(fake_runner(model))
    return str(error.value)


def test_right_prefix_passes_and_reports_everything_loaded(minkunet_export):
    hook = PretrainedWeightsCheckHook(module='backbone')
    hook.before_train(fake_runner(segmentor(minkunet_export, 'backbone.')))
    report = hook.report
    assert report['loaded'] == report['total'] > 100
    assert report['ratio'] == 1.0
    assert not report['missing'] and not report['different']


def test_wrong_prefix_loads_nothing_and_raises(minkunet_export):
    # mmengine accepts this prefix (keys start with it) but the stripped
    # names match no backbone tensor: it would train from random weights.
    message = backbone_check_error(
        segmentor(minkunet_export, 'backbone.encoder.'), 'before_train')
    assert minkunet_export in message
    assert 'prefix "backbone.encoder."' in message
    assert ' 0/' in message and '(0.0%)' in message


def test_partial_load_fails_below_min_loaded_ratio(minkunet_export, tmp_path):
    checkpoint = torch.load(minkunet_export, weights_only=True)
    checkpoint['state_dict'] = {
        k: v
        for k, v in checkpoint['state_dict'].items() if '.decoder.' not in k
    }
    partial = str(tmp_path / 'encoder_only.pth')
    torch.save(checkpoint, partial)
    model = segmentor(partial, 'backbone.')
    with pytest.raises(PretrainedWeightsError, match='required 100.0%'):
        PretrainedWeightsCheckHook().before_train(fake_runner(model))
    lenient = PretrainedWeightsCheckHook(min_loaded_ratio=0.05)
    lenient.before_train(fake_runner(model))
    assert 0.05 < lenient.report['ratio'] < 1.0
    assert lenient.report['missing']


class Detector(nn.Module):
    """Holds a SparseEncoder where CenterPoint does."""

    def __init__(self):
        super().__init__()
        cfg = dict(DEMO_SPARSE_ENCODER, type='SparseEncoder')
        self.pts_middle_encoder = MODELS.build(cfg)
        self.pts_backbone = nn.Conv2d(4, 4, 1)


@pytest.mark.parametrize('target, ok', [('centerpoint', True),
                                        ('second', False)])
def test_load_from_checks_sparse_encoder_of_the_right_export(
        target, ok, tmp_path):
    path = str(tmp_path / f'{target}.pth')
    fake_export(DEMO_SPARSE_ENCODER, target, path)
    model = Detector()
    # what Runner.load_or_resume does with load_from: non-strict
    load_checkpoint(model, path, strict=False, logger='silent')
    hook = PretrainedWeightsCheckHook(module='pts_middle_encoder')
    runner = fake_runner(model, load_from=path)
    if ok:
        hook.before_train(runner)
        assert hook.report['ratio'] == 1.0
    else:
        # the SECOND export ('middle_encoder.*') loads nothing into it
        with pytest.raises(PretrainedWeightsError, match='pts_middle_enc'):
            hook.before_train(runner)


def test_train_py_stops_before_training_on_a_wrong_prefix(
        minkunet_export, tmp_path):
    root = tiny_demo_root() + '/'
    result = run_command([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'train.py'), HILDA_DEMO, '--work-dir',
        tmp_path / 'work', '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={minkunet_export}',
        'model.backbone.init_cfg.prefix=backbone.encoder.',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}'
    ], tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith('train.py: error: pre-trained weights not '
                                'loaded')
    assert 'Traceback' not in result.stderr
    assert 'Iter(train)' not in result.stdout + result.stderr
    assert not list((tmp_path / 'work').glob('*.pth'))


def unloaded_segmentor(checkpoint, prefix):
    """The demo MinkUNet with a Pretrained init_cfg, before init_weights:
    what the hook sees in before_run."""
    cfg = copy.deepcopy(Config.fromfile(HILDA_DEMO).model)
    cfg.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=checkpoint, prefix=prefix)
    return MODELS.build(cfg)


def test_truncated_export_fails_its_checksum_before_loading(
        minkunet_export, tmp_path):
    """The sidecar still holds the intact file's hash: before_run (ahead of
    init_weights) names the mismatch instead of a torch load traceback."""
    from projects.HilDA.hilda.checkpoints import ChecksumError
    path = tmp_path / 'minkunet.pth'
    data = open(minkunet_export, 'rb').read()
    path.write_bytes(data[:len(data) // 3])
    shutil.copy(minkunet_export + '.sha256', str(path) + '.sha256')
    hook = PretrainedWeightsCheckHook(module='backbone')
    model = unloaded_segmentor(str(path), 'backbone.')
    with pytest.raises(ChecksumError, match='does not match'):
        hook.before_run(fake_runner(model))


def test_missing_sidecar_warns_or_is_refused(minkunet_export, tmp_path,
                                             monkeypatch):
    from projects.HilDA.hilda.checkpoints import ChecksumError
    from projects.HilDA.hilda.engine.hooks import \
        pretrained_weights_check_hook as module
    path = str(tmp_path / 'copied.pth')
    shutil.copy(minkunet_export, path)  # no sidecar
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    runner = fake_runner(unloaded_segmentor(path, 'backbone.'))
    PretrainedWeightsCheckHook(module='backbone').before_run(runner)
    assert len(logged) == 1 and 'copied.pth.sha256 sidecar' in logged[0]
    with pytest.raises(ChecksumError, match='no copied.pth.sha256'):
        PretrainedWeightsCheckHook(
            module='backbone', require_sidecar=True).before_run(runner)


def test_prefix_absent_from_the_checkpoint_is_named_before_loading(
        minkunet_export):
    """mmengine's Pretrained loader would stop with a bare AssertionError;
    before_run names the file and the prefix first."""
    message = backbone_check_error(
        unloaded_segmentor(minkunet_export, 'pts_middle_encoder.'),
        'before_run')
    assert minkunet_export in message
    assert 'no key starts with "pts_middle_encoder."' in message


def test_before_run_checks_nothing_when_not_training(tmp_path):
    """tools/test.py (Runner.test) also calls before_run, with the train
    loop unbuilt: the pre-trained file need not even exist there."""
    model = unloaded_segmentor(str(tmp_path / 'absent.pth'), 'backbone.')
    runner = fake_runner(model)
    for loop in (dict(type='IterBasedTrainLoop', max_iters=1), None):
        runner._train_loop = loop
        PretrainedWeightsCheckHook(module='backbone').before_run(runner)
