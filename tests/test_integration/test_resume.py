# Copyright (c) HilDA authors. All rights reserved.
"""A pre-training SIGKILLed mid-epoch resumes exactly (tools/train.py)."""
import json
import os
import os.path as osp
import signal
import sys

import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO_ROOT
from tests.helpers.reliability import tiny_dataset_cfg, tiny_runner_cfg
from tests.helpers.subprocesses import run_command

TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')


def write_config(path, data_cfg, work_dir, **extra):
    hooks = [dict(type='RngStateHook')] + extra.pop('hooks', [])
    cfg = tiny_runner_cfg(
        None,
        work_dir,
        max_iters=5,
        dataset=data_cfg,
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(
                type='AtomicCheckpointHook', by_epoch=False, interval=2)),
        custom_hooks=hooks,
        **extra)
    Config(cfg).dump(str(path))
    return str(path)


def train(config, work_dir, *args, threads=None):
    """tools/train.py on CPU; ``threads`` sets OMP_NUM_THREADS (None:
    torch's default, one per core)."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='')
    env.pop('OMP_NUM_THREADS', None)
    if threads is not None:
        env['OMP_NUM_THREADS'] = str(threads)
    return run_command(
        [sys.executable, TRAIN, config, '--work-dir', work_dir, *args],
        REPO_ROOT,
        env=env)


def losses(work_dir):
    """iter -> all logged loss terms, from every run in work_dir."""
    found = {}
    for run in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, run, 'vis_data', 'scalars.json')
        if not osp.isfile(path):
            continue
        for line in open(path):
            record = json.loads(line)
            found[record['iter']] = {
                k: v
                for k, v in record.items() if k.startswith('loss')
            }
    return found


@pytest.mark.parametrize('threads', [None, 1], ids=['default', 'one'])
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, threads):
    """6 samples, batch 2: 3 iterations per epoch. Checkpoints at 2 and 4;
    run B is SIGKILLed after iteration 3 (mid-epoch, after the iter_2
    checkpoint), then `--resume` continues from iter_2 to 5. Every loss
    term of iterations 3-5 equals run A's (uninterrupted, same seed): same
    weights, optimizer, scheduler, diffusion noise (per sample and
    iteration), data order (sampler) and augmentations (numpy RNG)."""
    data = tiny_dataset_cfg(tmp_path / 'data', num_frames=6)
    work_a, work_b = tmp_path / 'a', tmp_path / 'b'
    cfg_a = write_config(tmp_path / 'a.py', data, work_a)
    cfg_b = write_config(
        tmp_path / 'b.py',
        data,
        work_b,
        hooks=[dict(type='KillAtIterHook', kill_at=3)])
    cfg_resume = write_config(tmp_path / 'r.py', data, work_b)

    full = train(cfg_a, work_a, threads=threads)
    assert full.returncode == 0, full.stderr[-3000:]
    killed = train(cfg_b, work_b, threads=threads)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert open(work_b / 'last_checkpoint').read().endswith('iter_2.pth')
    resumed = train(cfg_resume, work_b, '--resume', threads=threads)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed' in resumed.stdout.lower() or 'resumed' in \
        resumed.stderr.lower()

    expected, got = losses(work_a), losses(work_b)
    assert sorted(expected) == [1, 2, 3, 4, 5]
    assert sorted(got) == [1, 2, 3, 4, 5]
    for it in (3, 4, 5):
        assert got[it] == expected[it], (it, got[it], expected[it])
    assert expected[3] != expected[4]  # it did train
    # The final weights agree too (checkpoints load with weights_only).
    final_a = torch.load(work_a / 'iter_4.pth', weights_only=True)
    final_b = torch.load(work_b / 'iter_4.pth', weights_only=True)
    for key, value in final_a['state_dict'].items():
        torch.testing.assert_close(final_b['state_dict'][key], value)
    assert 'hilda_rng_states' in final_b
