# Copyright (c) HilDA authors. All rights reserved.
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from projects.HilDA.hilda.engine.hooks.loss_guard_hook import \
    NonFiniteLossError
from tests.helpers.reliability import tiny_runner_cfg
from tests.helpers.tiny_hilda import tiny_model_cfg


def nan_model(nan_at):
    return tiny_model_cfg(type='NaNAtCallPretrainer', nan_at=nan_at)


def student_params(runner):
    # Parameters only: BN running statistics move in every forward.
    return {
        k: v.detach().clone()
        for k, v in runner.model.student.named_parameters()
    }


def full_state(runner):
    """Every parameter and buffer of the model, teacher and heads too."""
    return {
        k: v.detach().clone()
        for k, v in runner.model.state_dict(keep_vars=True).items()
    }


class AfterIterSpy(Hook):
    """Records ``snapshot(runner)`` after every training iteration."""

    def __init__(self, snapshot):
        self.snapshot = snapshot
        self.history = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.history.append(self.snapshot(runner))


def guarded_runner(tmp_path, action, max_iters, ckpt_interval):
    """The tiny run whose loss_cls is NaN at step 2, under
    ``LossGuardHook(action=action)``."""
    return Runner.from_cfg(
        tiny_runner_cfg(
            tmp_path / 'data',
            tmp_path / 'work',
            max_iters=max_iters,
            ckpt_interval=ckpt_interval,
            model=nan_model(nan_at=1),
            custom_hooks=[dict(type='LossGuardHook', action=action)]))


def train_skipping_a_nan_step(tmp_path, max_iters, ckpt_interval, snapshot):
    """:func:`guarded_runner` with action 'skip', trained to the end;
    returns the runner and ``snapshot(runner)`` after every step."""
    runner = guarded_runner(tmp_path, 'skip', max_iters, ckpt_interval)
    spy = AfterIterSpy(snapshot)
    runner.register_hook(spy, priority='LOWEST')
    runner.train()
    return runner, spy.history


def test_raise_names_iteration_term_and_samples_and_saves_nothing(tmp_path):
    """loss_cls is NaN at the 2nd step: the run stops there with the
    iteration, the term and both samples' ids; the weights are those after
    step 1 (finite) and no checkpoint exists."""
    runner = guarded_runner(tmp_path, 'raise', max_iters=3, ckpt_interval=1)
    saved = {}
    orig_save = runner.save_checkpoint

    def spy_save(*args, **kwargs):
        saved['params'] = student_params(runner)
        return orig_save(*args, **kwargs)

    runner.save_checkpoint = spy_save
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    assert 'iteration 2 ' in msg and 'loss_cls=nan' in msg, msg
    assert msg.count('token=tok') == 2 and 'lidar_path=' in msg, msg
    assert 'loss_distill' not in msg.split('samples:')[0], msg
    # iter_1.pth (before the NaN) was written, iter_2.pth never.
    assert osp.isfile(tmp_path / 'work' / 'iter_1.pth')
    assert not osp.exists(tmp_path / 'work' / 'iter_2.pth')
    now = student_params(runner)
    assert all(torch.isfinite(v).all() for v in now.values())
    for k, v in saved['params'].items():
        torch.testing.assert_close(now[k], v)  # step 2 changed nothing


def test_skip_drops_the_step_and_trains_to_the_end(tmp_path):
    runner, history = train_skipping_a_nan_step(
        tmp_path, max_iters=3, ckpt_interval=3, snapshot=student_params)
    # Step 2 (NaN) left the weights as step 1 made them; step 3 trained.
    for k, v in history[0].items():
        torch.testing.assert_close(history[1][k], v)
    assert any(not torch.equal(history[2][k], v)
               for k, v in history[1].items())
    guard = [h for h in runner.hooks if type(h).__name__ == 'LossGuardHook']
    assert guard[0].skipped_iters == [1]
    ckpt = torch.load(tmp_path / 'work' / 'iter_3.pth', weights_only=True)
    assert all(
        torch.isfinite(v).all() for v in ckpt['state_dict'].values()
        if v.is_floating_point())
    assert ckpt['meta']['iter'] == 3


def test_refuses_to_checkpoint_nan_weights(tmp_path):
    from projects.HilDA.hilda.engine.hooks.loss_guard_hook import LossGuardHook

    class FakeRunner:
        iter = 7

    state = dict(a=torch.ones(2), b=torch.tensor([1.0, float('inf')]))
    with pytest.raises(NonFiniteLossError, match='iteration 7.*b'):
        LossGuardHook().before_save_checkpoint(FakeRunner(),
                                               dict(state_dict=state))


def test_skip_restores_buffers_to_before_the_step(tmp_path):
    """The forward pass of the skipped (NaN) step 2 updated every BatchNorm
    running statistic and num_batches_tracked; after the skip the whole
    state (parameters and buffers, teacher and heads included) equals the
    state after step 1."""
    runner, history = train_skipping_a_nan_step(
        tmp_path, max_iters=2, ckpt_interval=100, snapshot=full_state)
    before, after = history
    buffers = [k for k, _ in runner.model.named_buffers()]
    assert any(k.endswith('running_mean') for k in buffers)
    assert sorted(before) == sorted(after)
    for key, value in before.items():
        assert torch.equal(after[key], value), key
