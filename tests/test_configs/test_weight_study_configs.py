# Copyright (c) HilDA authors. All rights reserved.
"""The demo weight study's configs (docs/objectives.md): every sweep point
reaches the built heads, so no point silently trains the full model."""
import os.path as osp

import pytest
from mmdet3d.registry import MODELS
from mmengine.config import Config

from tests.conftest import REPO_ROOT

DEMO = osp.join(REPO_ROOT, 'configs', 'hilda')
SUFFIX = '_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py'
FULL = osp.join(DEMO, 'hilda' + SUFFIX)
# sweep point -> (w_cls or None: no global token, standardised CLS,
#                 w_diff or None: no diffusion head)
STUDY = {
    'hilda-multilevel': (None, False, None),
    'hilda-nodiff-cls003': (0.03, False, None),
    'hilda-nodiff-cls01': (0.1, False, None),
    'hilda-nodiff-cls05': (0.5, False, None),
    'hilda-nodiff-cls003-std': (0.03, True, None),
    'hilda-nodiff-cls01-std': (0.1, True, None),
    'hilda-nodiff-cls05-std': (0.5, True, None),
    'hilda-nocls-diff003': (None, False, 0.03),
    'hilda-nocls-diff01': (None, False, 0.1),
    'hilda-nocls-diff05': (None, False, 0.5),
}


def build(path):
    cfg = Config.fromfile(path).model
    cfg.teacher.checkpoint = None  # random weights: the build is the test
    return MODELS.build(cfg)


@pytest.fixture(scope='module')
def full_model():
    return build(FULL)


@pytest.mark.parametrize('name', sorted(STUDY))
def test_sweep_point_reaches_the_built_heads(name, full_model):
    w_cls, std, w_diff = STUDY[name]
    model = build(osp.join(DEMO, 'ablations', 'demo', name + SUFFIX))
    token, diffusion = model.global_token, model.diffusion_head
    assert (token is None) == (w_cls is None)
    assert (diffusion is None) == (w_diff is None)
    if token is not None:
        assert token.loss_fn.loss_weight == w_cls
        assert token.standardize_target == std
        assert hasattr(token, 'target_mean') == std
    if diffusion is not None:
        assert diffusion.loss_weight == w_diff
        # The fixed x0 term of the demo config is what the sweep varies.
        ref = full_model.diffusion_head
        assert not diffusion.clip_x0
        assert (diffusion.x0_weighting,
                diffusion.x0_loss_weight) == (ref.x0_weighting,
                                              ref.x0_loss_weight)
    # Distillation stays the full model's (two levels, same weight).
    assert model.distill_head.num_levels == full_model.distill_head.num_levels
    assert model.distill_head.loss_fn.loss_weight == \
        full_model.distill_head.loss_fn.loss_weight
    built = (None if token is None else token.loss_fn.loss_weight, std,
             None if diffusion is None else diffusion.loss_weight)
    ref = full_model
    full = (ref.global_token.loss_fn.loss_weight,
            ref.global_token.standardize_target,
            ref.diffusion_head.loss_weight)
    assert built != full
