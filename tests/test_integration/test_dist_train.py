# Copyright (c) HilDA authors. All rights reserved.
import os.path as osp

from tests.conftest import REPO_ROOT
from tests.helpers.subprocesses import cpu_dist_env, run_ok

DIST_TRAIN = osp.join(REPO_ROOT, 'tools', 'dist_train.sh')
CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'configs',
                  'smoke_rank_markers.py')


def test_dist_train_two_processes_on_cpu(tmp_path, smoke_data_root):
    """torchrun starts 2 ranks (gloo on CPU); both reach the last iteration
    in a world of 2 and rank 0 saves the checkpoint."""
    work_dir = tmp_path / 'work'
    run_ok([
        'bash', DIST_TRAIN, CONFIG, '2', '--work-dir', work_dir,
        '--cfg-options',
        f'train_dataloader.dataset.data_root={smoke_data_root}',
        f'val_dataloader.dataset.data_root={smoke_data_root}'
    ],
           tmp_path,
           env=cpu_dist_env(),
           timeout=600)
    for rank in (0, 1):
        marker = work_dir / f'rank{rank}.done'
        assert marker.read_text().split() == ['2', '2'], rank
    assert (work_dir / 'iter_2.pth').is_file()
