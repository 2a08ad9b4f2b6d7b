# Copyright (c) HilDA authors. All rights reserved.
"""2 processes x batch 1 (gloo, tools/dist_train.sh) == 1 x batch 2."""
import os
import os.path as osp
import socket
import subprocess
import sys

import torch
from mmengine.config import Config

from tests.conftest import REPO_ROOT
from tests.helpers.reliability import (deterministic_pipeline,
                                       tiny_dataset_cfg, tiny_runner_cfg)
from tests.helpers.tiny_hilda import tiny_model_cfg

TOOLS = osp.join(REPO_ROOT, 'tools')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_config(path, data, work_dir, batch_size):
    # L_CLS is a mean over samples, so DDP's gradient average equals the
    # doubled batch's gradient; BN is frozen so that a sample's forward
    # does not depend on its batch (see FrozenBNPretrainer).
    model = tiny_model_cfg(
        type='FrozenBNPretrainer', distill_neck=None, diffusion_head=None)
    # With L_CLS only, the student's decoder gets no gradient: DDP must be
    # told (the full objective runs with find_unused_parameters=False).
    cfg = tiny_runner_cfg(
        None,
        work_dir,
        max_iters=2,
        dataset=data,
        ckpt_interval=2,
        model=model,
        model_wrapper_cfg=dict(
            type='MMDistributedDataParallel', find_unused_parameters=True))
    cfg['train_dataloader'].update(
        batch_size=batch_size,
        sampler=dict(type='DefaultSampler', shuffle=False))
    Config(cfg).dump(str(path))
    return str(path)


def test_two_gloo_ranks_equal_one_process_with_doubled_batch(tmp_path):
    data = tiny_dataset_cfg(
        tmp_path / 'data', num_frames=4, pipeline=deterministic_pipeline())
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(
        PYTHON=sys.executable,
        PORT=str(free_port()),
        CUDA_VISIBLE_DEVICES='',
        OMP_NUM_THREADS='1')
    dist_cfg = write_config(tmp_path / 'dist.py', data, tmp_path / 'dist', 1)
    dist = subprocess.run([
        'bash',
        osp.join(TOOLS, 'dist_train.sh'), dist_cfg, '2', '--work-dir',
        str(tmp_path / 'dist')
    ],
                          cwd=str(tmp_path),
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert dist.returncode == 0, dist.stderr[-3000:]
    single_cfg = write_config(tmp_path / 'single.py', data,
                              tmp_path / 'single', 2)
    single = subprocess.run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), single_cfg, '--work-dir',
        str(tmp_path / 'single')
    ],
                            cwd=str(tmp_path),
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]

    a = torch.load(tmp_path / 'dist' / 'iter_2.pth', weights_only=True)
    b = torch.load(tmp_path / 'single' / 'iter_2.pth', weights_only=True)
    assert set(a['state_dict']) == set(b['state_dict'])
    assert not any(k.startswith('teacher.') for k in a['state_dict'])
    for key, value in b['state_dict'].items():
        torch.testing.assert_close(
            a['state_dict'][key], value, rtol=1e-5, atol=1e-6, msg=key)
    # It really ran distributed: without the gradient all-reduce, rank 0
    # (which saves) would have trained on samples 0 and 2 alone and differ.
    logs = [
        osp.join(r, f) for r, _, fs in os.walk(tmp_path / 'dist') for f in fs
        if f.endswith('.log')
    ]
    assert any('Distributed training: True' in open(p).read() for p in logs)
