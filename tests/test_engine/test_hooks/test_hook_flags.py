# Copyright (c) HilDA authors. All rights reserved.
"""Flags of the reliability hooks that change what a run does:
``LossGuardHook(check_grads=...)`` and ``max_consecutive_skips``, and
``AtomicCheckpointHook(lock_work_dir=False)``; each test also runs the
other setting, so that it fails when the flag is ignored."""
import os.path as osp

import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.runner import Runner

from projects.HilDA.hilda.engine.hooks.loss_guard_hook import \
    NonFiniteLossError
from projects.HilDA.hilda.models.pretrainers.hilda_pretrainer import \
    HilDAPretrainer
from projects.HilDA.hilda.utils.work_dir_lock import WorkDirLockedError
from tests.helpers.reliability import NaNAtCallPretrainer, tiny_runner_cfg
from tests.helpers.tiny_hilda import tiny_model_cfg
from tests.test_utils.test_work_dir_lock import hold_in_child


@MODELS.register_module()
class BadFromCallPretrainer(NaNAtCallPretrainer):
    """:class:`NaNAtCallPretrainer`, bad at every loss computation from the
    ``nan_at``-th on: ``what='loss'`` makes ``nan_term`` NaN,
    ``'gradient'`` adds a term that is 0 but whose gradient into the
    student is NaN."""

    def __init__(self, what: str = 'loss', **kwargs):
        super().__init__(**kwargs)
        self.what = what

    def loss(self, inputs, data_samples):
        losses = HilDAPretrainer.loss(self, inputs, data_samples)
        if self.calls >= self.nan_at and self.what == 'loss':
            losses[self.nan_term] = losses[self.nan_term] * float('nan')
        elif self.calls >= self.nan_at:
            # d sqrt(x)/dx is inf at 0, times d(0 * w)/dw = 0: NaN
            weight = next(self.student.parameters())
            losses['loss_bad_grad'] = torch.sqrt(weight.sum() * 0)
        self.calls += 1
        return losses


def guarded_runner(tmp_path, max_iters, guard, **model):
    cfg = tiny_runner_cfg(
        tmp_path / 'data',
        tmp_path / 'work',
        max_iters=max_iters,
        ckpt_interval=100,
        model=tiny_model_cfg(type='BadFromCallPretrainer', **model),
        custom_hooks=[dict(type='LossGuardHook', **guard)])
    return Runner.from_cfg(cfg)


def student_finite(runner):
    return all(
        torch.isfinite(p).all() for p in runner.model.student.parameters())


@pytest.mark.parametrize('check_grads', [True, False])
def test_gradient_check_stops_a_finite_loss_with_nan_gradients(
        tmp_path, check_grads):
    runner = guarded_runner(
        tmp_path,
        max_iters=2,
        guard=dict(action='raise', check_grads=check_grads),
        nan_at=1,
        what='gradient')
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    if check_grads:
        # Stopped at step 2, before the optimizer step: weights intact.
        assert 'non-finite gradient at iteration 2' in msg, msg
        assert 'all loss terms finite' in msg and 'loss_bad_grad=0' in msg
        assert student_finite(runner)
    else:
        # Unchecked, the NaN gradients reach the weights; only the
        # checkpoint guard notices, when the last checkpoint is saved.
        assert 'refusing to save a checkpoint' in msg, msg
        assert not student_finite(runner)


@pytest.mark.parametrize('limit', [2, 10])
def test_skips_stop_after_max_consecutive_skips_bad_steps(tmp_path, limit):
    runner = guarded_runner(
        tmp_path,
        max_iters=6,
        guard=dict(action='skip', max_consecutive_skips=limit),
        nan_at=1)
    guard = next(
        h for h in runner.hooks if type(h).__name__ == 'LossGuardHook')
    if limit == 2:
        with pytest.raises(NonFiniteLossError) as err:
            runner.train()
        # steps 2 and 3 skipped, step 4 is the third bad one in a row
        assert '3 bad steps in a row, more than max_consecutive_skips=2' \
            in str(err.value)
        assert guard.skipped_iters == [1, 2, 3]
    else:
        runner.train()  # five bad steps in a row: within the limit
        assert guard.skipped_iters == [1, 2, 3, 4, 5]
    assert student_finite(runner)


@pytest.mark.parametrize('lock_work_dir', [True, False])
def test_lock_work_dir_false_trains_in_a_locked_work_dir(
        tmp_path, lock_work_dir):
    work = tmp_path / 'work'
    work.mkdir()
    child = hold_in_child(work)  # another run holds the work dir
    try:
        cfg = tiny_runner_cfg(tmp_path / 'data', work, max_iters=1)
        cfg['default_hooks']['checkpoint'] = dict(
            type='AtomicCheckpointHook',
            by_epoch=False,
            interval=1,
            lock_work_dir=lock_work_dir)
        runner = Runner.from_cfg(cfg)
        if lock_work_dir:
            with pytest.raises(WorkDirLockedError, match=f'pid {child.pid}'):
                runner.train()
            assert not osp.exists(work / 'iter_1.pth')
        else:
            runner.train()
            assert osp.isfile(work / 'iter_1.pth')
    finally:
        child.kill()
        child.wait()
