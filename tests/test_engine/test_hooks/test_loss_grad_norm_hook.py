# Copyright (c) HilDA authors. All rights reserved.
from types import SimpleNamespace

import pytest
import torch
from mmdet3d.registry import HOOKS, MODELS
from mmengine.dataset import pseudo_collate
from mmengine.runner import set_random_seed

from tests.helpers.tiny_hilda import tiny_dataset, tiny_model_cfg


def fake_runner(model, interval=10):
    logger = type('LoggerHook', (), {})()
    logger.interval = interval
    return SimpleNamespace(model=model, iter=0, hooks=[logger])


def test_flag_is_set_on_logging_iterations_only():
    model = SimpleNamespace(log_grad_norms=False)
    runner = fake_runner(model, interval=5)
    hook = HOOKS.build(dict(type='LossGradNormHook'))
    hook.before_train(runner)
    flags = []
    for it in range(10):
        runner.iter = it
        hook.before_train_iter(runner, it)
        flags.append(model.log_grad_norms)
        hook.after_train_iter(runner, it)
        assert not model.log_grad_norms
    # The LoggerHook logs after iterations 5 and 10 (1-based).
    assert [i for i, f in enumerate(flags) if f] == [4, 9]


def test_a_model_without_the_flag_is_a_clear_error():
    hook = HOOKS.build(dict(type='LossGradNormHook', interval=2))
    with pytest.raises(TypeError, match='log_grad_norms'):
        hook.before_train(fake_runner(torch.nn.Linear(1, 1)))


def test_pretrainer_logs_the_grad_norm_of_each_term(tmp_path):
    set_random_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.train()
    dataset = tiny_dataset(tmp_path)
    data = pseudo_collate([dataset[1], dataset[2]])
    batch = model.data_preprocessor(data, training=True)
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
