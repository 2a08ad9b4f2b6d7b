# Copyright (c) HilDA authors. All rights reserved.
"""tools/finetune_demo.py and the demo detector through tools/train.py and
tools/test.py, on the tiny demo set with a few iterations."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.helpers.fake_exports import (DEMO_MINKUNET, DEMO_SPARSE_ENCODER,
                                        fake_export)
from tests.helpers.tiny_demo_world import tiny_demo_root

DEMO_DET = osp.join(
    REPO_ROOT, 'configs', 'finetune',
    'centerpoint_voxel02-hilda_second_secfpn_1xb2-300iter'
    '_demo.py')


def run(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)


def test_finetune_demo_prints_scratch_and_hilda_miou(tmp_path):
    export = str(tmp_path / 'minkunet.pth')
    fake_export(DEMO_MINKUNET, 'minkunet', export)
    work_dir = tmp_path / 'ft'
    result = run([
        osp.join(REPO_ROOT, 'tools', 'finetune_demo.py'), '--pretrained',
        export, '--work-dir',
        str(work_dir), '--iters', '2', '--data-root',
        tiny_demo_root()
    ], str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if '|' in line]
    assert any(row.split('|')[1].strip() == 'scratch' for row in rows)
    assert any(row.split('|')[1].strip() == 'HilDA' for row in rows)
    assert 'HilDA - scratch:' in result.stdout
    # progress on the terminal: both trainings' iterations (2 + 2) and
    # the four steps (train, test of each), complete at the end
    assert re.search(r'finetune_demo.*\b4/4\b.*4/4 runs done', result.stderr)
    with open(work_dir / 'summary.json') as f:
        summary = json.load(f)
    for name in ('scratch', 'hilda'):
        assert 0.0 <= summary['results'][name]['miou'] <= 1.0
        assert osp.isfile(work_dir / name / 'iter_2.pth')
    # only the HilDA run loads (and checks) pre-trained weights
    hilda_log = (work_dir / 'hilda' / 'train_stdout.log').read_text()
    checked = 'PretrainedWeightsCheckHook: 245/245 tensors'
    assert checked in hilda_log and '(100.0%)' in hilda_log
    scratch_log = (work_dir / 'scratch' / 'train_stdout.log').read_text()
    assert 'equal checkpoint' not in scratch_log


def test_demo_detector_loads_hilda_encoder_and_test_py_reports_map(tmp_path):
    export = str(tmp_path / 'centerpoint.pth')
    fake_export(DEMO_SPARSE_ENCODER, 'centerpoint', export)
    root = tiny_demo_root() + '/'
    work_dir = str(tmp_path / 'det')
    options = [
        f'load_from={export}', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'train_cfg.val_begin=3',
        'default_hooks.checkpoint.interval=2',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}'
    ]
    train = run([
        osp.join(REPO_ROOT, 'tools', 'train.py'), DEMO_DET, '--work-dir',
        work_dir, '--cfg-options', *options
    ], str(tmp_path))
    assert train.returncode == 0, train.stderr[-3000:]
    assert 'of "pts_middle_encoder" equal checkpoint' in train.stdout + \
        train.stderr
    test = run([
        osp.join(REPO_ROOT, 'tools', 'test.py'), DEMO_DET,
        osp.join(work_dir, 'iter_2.pth'), '--work-dir', work_dir + '/test',
        '--cfg-options', *options
    ], str(tmp_path))
    assert test.returncode == 0, test.stderr[-3000:]
    logged = glob.glob(osp.join(work_dir, 'test', '*', '*.json'))
    with open(logged[0]) as f:
        metrics = json.loads(f.readline())
    assert 0.0 <= metrics['mAP'] <= 1.0
    assert {'car_AP', 'pedestrian_AP', 'mATE'} <= set(metrics)
