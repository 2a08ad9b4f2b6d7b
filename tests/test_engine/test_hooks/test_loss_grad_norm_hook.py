# Copyright (c) HilDA authors. All rights reserved.
from types import SimpleNamespace

import pytest
import torch
from mmdet3d.registry import HOOKS, MODELS
from mmengine.dataset import pseudo_collate
from mmengine.runner import set_random_seed

from projects.HilDA.hilda.models.utils import loss_grad_shares
from tests.helpers.tiny_hilda import tiny_dataset, tiny_model_cfg


def fake_runner(model, interval=10):
    logger = type('LoggerHook', (), {})()
    logger.interval = interval
    return SimpleNamespace(model=model, iter=0, hooks=[logger])


def flags_per_iteration(hook, runner, flag, num_iters):
    """The model's ``flag`` as each of ``num_iters`` training iterations
    sees it; the hook must clear it after every iteration."""
    hook.before_train(runner)
    seen = []
    for it in range(num_iters):
        runner.iter = it
        hook.before_train_iter(runner, it)
        seen.append(getattr(runner.model, flag))
        hook.after_train_iter(runner, it)
        assert not getattr(runner.model, flag)
    return seen


def tiny_pretrainer_and_batch(tmp_path):
    """The tiny pre-trainer in train mode and a preprocessed batch of 2."""
    set_random_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.train()
    dataset = tiny_dataset(tmp_path)
    batch = model.data_preprocessor(
        pseudo_collate([dataset[1], dataset[2]]), training=True)
    return model, batch


def test_flag_is_set_on_logging_iterations_only():
    model = SimpleNamespace(log_grad_norms=False)
    runner = fake_runner(model, interval=5)
    hook = HOOKS.build(dict(type='LossGradNormHook'))
    flags = flags_per_iteration(hook, runner, 'log_grad_norms', 10)
    # The LoggerHook logs after iterations 5 and 10 (1-based).
    assert [i for i, f in enumerate(flags) if f] == [4, 9]


def test_a_model_without_the_flag_is_a_clear_error():
    hook = HOOKS.build(dict(type='LossGradNormHook', interval=2))
    with pytest.raises(TypeError, match='log_grad_norms'):
        hook.before_train(fake_runner(torch.nn.Linear(1, 1)))


def test_pretrainer_logs_the_grad_norm_of_each_term(tmp_path):
    model, batch = tiny_pretrainer_and_batch(tmp_path)
    plain = model(**batch, mode='loss')
    assert not any(k.startswith('gradnorm_') for k in plain)
    model.log_grad_norms = True
    losses = model(**batch, mode='loss')
    norms = {k: v for k, v in losses.items() if k.startswith('gradnorm_')}
    assert {'gradnorm_diffusion', 'gradnorm_cls',
            'gradnorm_distill_l1'} <= set(norms)
    # The terms that read the last stage push it; level 0 (the stage before
    # it) cannot.
    assert norms['gradnorm_diffusion'] > 0 and norms['gradnorm_distill_l1'] > 0
    assert norms['gradnorm_distill_l0'] == 0
    # Logged, not added to the total loss.
    total, log_vars = model.parse_losses(losses)
    assert 'gradnorm_diffusion' in log_vars
    torch.testing.assert_close(
        total, sum(v for k, v in losses.items() if k.startswith('loss_')))


def test_shares_flag_follows_the_norms_flag_unless_switched_off():
    for shares in (True, False):
        model = SimpleNamespace(log_grad_norms=False, log_grad_shares=False)
        runner = fake_runner(model, interval=2)
        hook = HOOKS.build(dict(type='LossGradNormHook', shares=shares))
        seen = flags_per_iteration(hook, runner, 'log_grad_shares', 4)
        assert seen == ([False, True] * 2 if shares else [False] * 4)


def test_grad_shares_are_the_terms_parameter_gradient_norms_normalised():
    first, second = torch.nn.Linear(3, 1), torch.nn.Linear(3, 1)
    x = torch.randn(5, 3)
    losses = dict(
        loss_a=first(x).sum(),
        loss_b=(3 * first(x) + second(x)).sum(),
        acc=torch.tensor(1.0))
    shares = loss_grad_shares(
        losses,
        dict(
            first=list(first.parameters()),
            both=[*first.parameters(), *second.parameters()]))
    grad_a = torch.cat([x.sum(0), torch.tensor([5.0])])
    # loss_b's gradient on `first` is 3x loss_a's: shares 1/4 and 3/4.
    torch.testing.assert_close(shares['gradshare_first_a'], torch.tensor(.25))
    torch.testing.assert_close(shares['gradshare_first_b'], torch.tensor(.75))
    norm_a = float(grad_a.norm())
    norm_b = (10 * norm_a**2)**0.5  # 3 x grad_a on first, grad_a on second
    torch.testing.assert_close(shares['gradshare_both_a'],
                               torch.tensor(norm_a / (norm_a + norm_b)))
    assert 'gradshare_first_acc' not in shares
    assert first.weight.grad is None


def test_pretrainer_logs_each_terms_share_of_the_parameter_gradient(tmp_path):
    model, batch = tiny_pretrainer_and_batch(tmp_path)
    model.log_grad_shares = True
    losses = model(**batch, mode='loss')
    for group in ('last', 'student'):
        shares = {
            k: float(v)
            for k, v in losses.items() if k.startswith(f'gradshare_{group}_')
        }
        assert {
            f'gradshare_{group}_{t}'
            for t in ('cls', 'diffusion', 'distill_l1')
        } <= set(shares)
        assert abs(sum(shares.values()) - 1) < 1e-5
    # Level 0 is computed before the last stage: it cannot push it, but
    # it pushes the student.
    assert float(losses['gradshare_last_distill_l0']) == 0
    assert float(losses['gradshare_student_distill_l0']) > 0
    total, log_vars = model.parse_losses(losses)
    assert 'gradshare_last_cls' in log_vars
    torch.testing.assert_close(
        total, sum(v for k, v in losses.items() if k.startswith('loss_')))
