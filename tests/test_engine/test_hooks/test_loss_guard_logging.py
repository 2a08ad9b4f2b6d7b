# Copyright (c) HilDA authors. All rights reserved.
"""A step skipped by LossGuardHook leaves no NaN in the logged values."""
import math

from mmengine.runner import Runner

from tests.helpers.reliability import tiny_runner_cfg
from tests.helpers.tiny_hilda import tiny_model_cfg


def test_skipped_nan_step_is_not_logged(tmp_path):
    cfg = tiny_runner_cfg(
        tmp_path / 'data',
        tmp_path / 'work',
        max_iters=3,
        model=tiny_model_cfg(type='NaNAtCallPretrainer', nan_at=1),
        custom_hooks=[dict(type='LossGuardHook', action='skip')])
    cfg['log_processor'] = dict(by_epoch=False, window_size=10)
    runner = Runner.from_cfg(cfg)
    runner.train()
    history, _ = runner.message_hub.get_scalar('train/loss').data
    # Steps 1 and 3 are logged; the skipped step 2 is not.
    assert len(history) == 2
    assert all(math.isfinite(v) for v in history)
    assert math.isfinite(runner.message_hub.get_scalar('train/loss').mean(10))
