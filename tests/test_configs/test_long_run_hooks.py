# Copyright (c) HilDA authors. All rights reserved.
"""Every HilDA config, pre-training and fine-tuning, keeps the long-run
protections (atomic checkpoints, loss guard, RNG state), also those that
set their own custom_hooks."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from tests.conftest import REPO_ROOT

CONFIGS = sorted(
    glob.glob(
        osp.join(REPO_ROOT, 'configs', 'hilda', '**', '*.py'), recursive=True)
    + glob.glob(osp.join(REPO_ROOT, 'configs', 'finetune', '*.py')))
LINEAR_PROBES = [p for p in CONFIGS if 'linear-probe' in p]


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_has_the_long_run_hooks(path):
    hooks = Config.fromfile(path).default_hooks
    assert hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert hooks.loss_guard.type == 'LossGuardHook'
    assert hooks.loss_guard.action == 'raise'
    assert hooks.rng_state.type == 'RngStateHook'


@pytest.mark.parametrize('path', LINEAR_PROBES, ids=osp.basename)
def test_linear_probe_extends_its_base_hooks(path):
    types = [h.type for h in Config.fromfile(path).custom_hooks]
    assert types == ['PretrainedWeightsCheckHook', 'FreezeModulesHook']


def test_mmdet3d_checkpoint_settings_are_kept():
    """Only the hook type changes: mmdet3d's interval etc. stay."""
    from mmengine.hub import get_config
    name = 'second_hv-hilda_secfpn_8xb6-80e_kitti-3d-3class.py'
    ours = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'finetune', name))
    theirs = get_config(
        'mmdet3d::second/second_hv_secfpn_8xb6-80e_kitti-3d-3class.py')
    for key, value in theirs.default_hooks.checkpoint.items():
        if key not in ('type', '_scope_'):
            assert ours.default_hooks.checkpoint[key] == value, key
