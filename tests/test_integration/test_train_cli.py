# Copyright (c) HilDA authors. All rights reserved.
"""tools/train.py and tools/test.py as a user runs them: from outside the
repository, without PYTHONPATH."""
import glob
import os.path as osp
import sys

import pytest
import torch

from tests.conftest import REPO_ROOT, SMOKE_CONFIG
from tests.helpers.subprocesses import run_command

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')


def run_tool(args, cwd, timeout=600):
    return run_command([sys.executable, *args], cwd, timeout=timeout)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines, 'no error message'
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


@pytest.fixture(scope='module')
def plain_config(tmp_path_factory):
    path = tmp_path_factory.mktemp('cfg') / 'no_plugin.py'
    path.write_text("_base_ = ['mmdet3d::_base_/default_runtime.py']\n")
    return str(path)


@pytest.mark.parametrize('case',
                         ['missing', 'no_plugin', 'typo', 'no_equal', 'amp'])
def test_bad_input_fails_with_one_line_reason(case, tmp_path, plain_config):
    args, fragments = {
        'missing': ([str(tmp_path / 'absent.py')], ['does not exist']),
        'no_plugin': ([plain_config], ['does not import the HilDA plugin']),
        'typo':
        ([SMOKE_CONFIG, '--cfg-options',
          'train_cfg.max_iter=1'], ["did you mean 'train_cfg.max_iters'"]),
        'no_equal': ([SMOKE_CONFIG, '--cfg-options',
                      'train_cfg'], ['expects KEY=VALUE']),
        'amp': ([SMOKE_CONFIG, '--amp'], ['--amp needs a CUDA GPU']),
    }[case]
    if case == 'amp' and torch.cuda.is_available():
        pytest.skip('--amp is valid with CUDA')
    assert_one_line_error(run_tool([TRAIN, *args], str(tmp_path)), *fragments)


def test_train_then_test_from_outside_the_repo(tmp_path, smoke_data_root):
    """Train the smoke config for 8 iterations, then evaluate its checkpoint
    with mmdet3d's SegMetric through tools/test.py."""
    work_dir = str(tmp_path / 'work')
    data_opt = [
        f'train_dataloader.dataset.data_root={smoke_data_root}',
        f'val_dataloader.dataset.data_root={smoke_data_root}',
        f'test_dataloader.dataset.data_root={smoke_data_root}'
    ]
    train = run_tool([
        TRAIN, SMOKE_CONFIG, '--work-dir', work_dir, '--cfg-options', *data_opt
    ], str(tmp_path))
    assert train.returncode == 0, train.stderr[-3000:]
    assert 'HilDA modules registered' in train.stdout + train.stderr
    checkpoint = osp.join(work_dir, 'iter_8.pth')
    assert osp.isfile(checkpoint)
    assert glob.glob(osp.join(work_dir, '*', '*.log'))

    test = run_tool([
        TEST, SMOKE_CONFIG, checkpoint, '--work-dir', work_dir,
        '--cfg-options', *data_opt
    ], str(tmp_path))
    assert test.returncode == 0, test.stderr[-3000:]
    assert 'miou' in (test.stdout + test.stderr).lower()


def test_test_tool_names_missing_checkpoint(tmp_path):
    result = run_tool(
        [TEST, SMOKE_CONFIG, str(tmp_path / 'none.pth')], str(tmp_path))
    assert_one_line_error(result, 'none.pth', 'does not exist')


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU fallback')
def test_sync_bn_config_keeps_plain_batchnorm_on_cpu(tmp_path):
    """The paper config asks for SyncBN (torch's needs CUDA); on CPU the
    tool keeps per-process BatchNorm instead of failing in DDP."""
    from tests.conftest import load_tool
    train = load_tool('train.py')
    config = osp.join(
        REPO_ROOT, 'configs', 'hilda',
        'hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py')
    args = train.parse_args([config, '--work-dir', str(tmp_path)])
    assert train.load_config(config).sync_bn == 'torch'
    assert train.build_cfg(args).get('sync_bn') is None
