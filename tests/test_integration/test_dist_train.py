# Copyright (c) HilDA authors. All rights reserved.
import os
import os.path as osp
import socket
import subprocess
import sys

from tests.conftest import REPO_ROOT

DIST_TRAIN = osp.join(REPO_ROOT, 'tools', 'dist_train.sh')
CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'configs',
                  'smoke_rank_markers.py')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_dist_train_two_processes_on_cpu(tmp_path, smoke_data_root):
    """torchrun starts 2 ranks (gloo on CPU); both reach the last iteration
    in a world of 2 and rank 0 saves the checkpoint."""
    work_dir = tmp_path / 'work'
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(
        PYTHON=sys.executable,
        PORT=str(free_port()),
        CUDA_VISIBLE_DEVICES='',
        OMP_NUM_THREADS='1')
    result = subprocess.run([
        'bash', DIST_TRAIN, CONFIG, '2', '--work-dir',
        str(work_dir), '--cfg-options',
        f'train_dataloader.dataset.data_root={smoke_data_root}',
        f'val_dataloader.dataset.data_root={smoke_data_root}'
    ],
                            cwd=str(tmp_path),
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for rank in (0, 1):
        marker = work_dir / f'rank{rank}.done'
        assert marker.read_text().split() == ['2', '2'], rank
    assert (work_dir / 'iter_2.pth').is_file()
