# Copyright (c) HilDA authors. All rights reserved.
"""2 processes x batch 1 (gloo, tools/dist_train.sh) == 1 x batch 2.

The full objective (L_distill + L_CLS + L_diffusion) on CPU. What makes
the two layouts agree: every loss is a mean over the items (pairs,
samples, BEV cells) of all ranks (``models/utils/distributed.py``), the
diffusion noise is drawn per sample (``noise_per_sample``), the student's
BatchNorms are frozen (``FrozenBNPretrainer``; SyncBN cannot run on CPU)
and the pipeline has no random augmentation.
"""
import json
import os
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO_ROOT
from tests.helpers.reliability import (deterministic_pipeline,
                                       tiny_dataset_cfg, tiny_runner_cfg)
from tests.helpers.subprocesses import cpu_dist_env, run_ok
from tests.helpers.tiny_hilda import tiny_model_cfg

TOOLS = osp.join(REPO_ROOT, 'tools')


def write_config(path, data, work_dir, batch_size):
    # BN is frozen so that a sample's forward does not depend on its batch
    # (see FrozenBNPretrainer); every loss term is on.
    model = tiny_model_cfg(type='FrozenBNPretrainer')
    cfg = tiny_runner_cfg(
        None,
        work_dir,
        max_iters=2,
        dataset=data,
        ckpt_interval=2,
        model=model,
        custom_hooks=[dict(type='DDPReportHook')],
        model_wrapper_cfg=dict(
            type='MMDistributedDataParallel', find_unused_parameters=False))
    # SGD, not AdamW: Adam's first steps are about lr * sign(grad), which
    # turns float rounding in gradient entries near 0 (|g| ~ eps) into
    # parameter differences up to lr (2.6e-5 measured after 2 steps, vs
    # 1.5e-8 with SGD); SGD compares the gradients themselves.
    cfg['optim_wrapper']['optimizer'] = dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=0.01)
    cfg['train_dataloader'].update(
        batch_size=batch_size,
        sampler=dict(type='DefaultSampler', shuffle=False))
    Config(cfg).dump(str(path))
    return str(path)


def logged_losses(work_dir):
    """iter -> logged loss terms (rank 0's scalars.json)."""
    found = {}
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            for line in open(osp.join(root, 'scalars.json')):
                record = json.loads(line)
                found[record['iter']] = {
                    k: v
                    for k, v in record.items() if k.startswith('loss')
                }
    return found


def test_two_gloo_ranks_equal_one_process_with_doubled_batch(tmp_path):
    data = tiny_dataset_cfg(
        tmp_path / 'data', num_frames=4, pipeline=deterministic_pipeline())
    env = cpu_dist_env()
    dist_cfg = write_config(tmp_path / 'dist.py', data, tmp_path / 'dist', 1)
    run_ok([
        'bash',
        osp.join(TOOLS, 'dist_train.sh'), dist_cfg, '2', '--work-dir',
        tmp_path / 'dist'
    ],
           tmp_path,
           env=env)
    single_cfg = write_config(tmp_path / 'single.py', data,
                              tmp_path / 'single', 2)
    run_ok([
        sys.executable,
        osp.join(TOOLS, 'train.py'), single_cfg, '--work-dir',
        tmp_path / 'single'
    ],
           tmp_path,
           env=env)

    a = torch.load(tmp_path / 'dist' / 'iter_2.pth', weights_only=True)
    b = torch.load(tmp_path / 'single' / 'iter_2.pth', weights_only=True)
    assert set(a['state_dict']) == set(b['state_dict'])
    assert not any(k.startswith('teacher.') for k in a['state_dict'])
    prefixes = {k.split('.')[0] for k in a['state_dict']}
    assert {'student', 'distill_head', 'global_token',
            'diffusion_head'} <= prefixes
    for key, value in b['state_dict'].items():
        torch.testing.assert_close(
            a['state_dict'][key], value, rtol=1e-5, atol=1e-6, msg=key)
    # The logged loss terms are the whole batch's on every rank.
    dist_log, single_log = (
        logged_losses(tmp_path / run) for run in ('dist', 'single'))
    assert sorted(dist_log) == sorted(single_log) == [1, 2]
    for it, terms in single_log.items():
        assert dist_log[it] == pytest.approx(terms, rel=1e-5), it

    # The teacher is outside DDP's gradient sync: no teacher parameter is
    # in the reducer, none requires or got a gradient, it stays in eval.
    for rank in (0, 1):
        with open(tmp_path / 'dist' / f'ddp_report_rank{rank}.json') as f:
            report = json.load(f)
        assert report['wrapper'] == 'MMDistributedDataParallel'
        assert report['synced'], report
        assert not any(n.startswith('teacher.') for n in report['synced'])
        assert {n.split('.')[0]
                for n in report['synced']} == {
                    'student', 'distill_head', 'global_token', 'diffusion_head'
                }
        assert report['teacher_params'] > 0
        assert not report['teacher_requires_grad']
        assert report['teacher_grads'] == 0
        assert not report['teacher_training']
    # It really ran distributed: without the gradient all-reduce, rank 0
    # (which saves) would have trained on samples 0 and 2 alone and differ.
    logs = [
        osp.join(r, f) for r, _, fs in os.walk(tmp_path / 'dist') for f in fs
        if f.endswith('.log')
    ]
    assert any('Distributed training: True' in open(p).read() for p in logs)


def test_sync_bn_is_left_out_of_a_single_process_run(tmp_path):
    """The paper configs' ``sync_bn = 'torch'`` (SyncBatchNorm needs CUDA)
    does not touch a one-process CPU run: mmengine keeps BatchNorm."""
    from mmengine.runner import Runner
    from torch.nn.modules.batchnorm import _BatchNorm
    data = tiny_dataset_cfg(tmp_path / 'data', num_frames=2)
    cfg = tiny_runner_cfg(None, tmp_path / 'work', dataset=data)
    cfg['sync_bn'] = 'torch'
    runner = Runner.from_cfg(Config(cfg))
    norms = [m for m in runner.model.modules() if isinstance(m, _BatchNorm)]
    assert norms
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in norms)
