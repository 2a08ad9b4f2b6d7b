# Copyright (c) HilDA authors. All rights reserved.
"""The demo ablation configs (configs/hilda/ablations/demo/) differ from the
demo teacher-cache config only where they should, and build."""

import pytest
from mmdet3d.registry import MODELS
from mmengine.config import Config

from projects.HilDA.analysis.probe_table.plan import FULL_CONFIG, VARIANTS
from tests.test_configs.test_pretrain_ablation_configs import (covered,
                                                               differing_keys)

# The top-level num_levels and its model copies change together.
LEVELS = ('num_levels', 'model.student.num_levels', 'model.teacher.num_levels')
# variant -> the (prefixes of) keys where its config differs from full HilDA
EXPECTED_DIFFS = {
    'hilda-lastlevel': {*LEVELS, 'model.global_token', 'model.diffusion_head'},
    'hilda-lastlevel-diff': {*LEVELS, 'model.global_token'},
    'hilda-multilevel': {'model.global_token', 'model.diffusion_head'},
    'hilda-nodiff': {'model.diffusion_head'},
    'hilda-nocls': {'model.global_token'},
    'hilda-occdecoder': {'model.diffusion_head.type'},
    'hilda-4levels': set(LEVELS),
    'hilda-onlylast': set(LEVELS),
    'hilda-finestonly': {*LEVELS, 'model.teacher.out_indices'},
    'hilda-noprevgrad': {'model.prev_grad'},
    'hilda-epsonly': {'model.diffusion_head.x0_loss_weight'},
    # The weight study: no diffusion and a CLS weight / standardisation;
    # no CLS and a diffusion weight (0.03 is the default's).
    **{
        f'hilda-nodiff-cls{w}{std}':
        {'model.diffusion_head', 'model.global_token'}
        for w in ('003', '01', '05') for std in ('', '-std')
    },
    'hilda-nocls-diff003': {'model.global_token'},
    'hilda-nocls-diff01':
    {'model.global_token', 'model.diffusion_head.loss_weight'},
    'hilda-nocls-diff05':
    {'model.global_token', 'model.diffusion_head.loss_weight'},
}


def test_every_pretrained_variant_is_a_config_file_with_an_expected_diff():
    pretrained = {k for k, v in VARIANTS.items() if v.config is not None}
    assert pretrained == set(EXPECTED_DIFFS) | {'hilda'}
    assert VARIANTS['hilda'].config == FULL_CONFIG


@pytest.mark.parametrize('variant', sorted(EXPECTED_DIFFS))
def test_demo_ablation_states_only_its_delta(variant):
    cfg = Config.fromfile(VARIANTS[variant].config)
    diffs = differing_keys(cfg, Config.fromfile(FULL_CONFIG))
    expected = EXPECTED_DIFFS[variant]
    assert all(covered(k, expected) for k in diffs), sorted(diffs)
    assert all(any(covered(k, {p}) for k in diffs) for p in expected)


@pytest.mark.parametrize('variant', sorted(EXPECTED_DIFFS))
def test_demo_ablation_builds_with_its_heads_and_levels(variant):
    cfg = Config.fromfile(VARIANTS[variant].config).model
    cfg.teacher.checkpoint = None  # random weights: the build is the test
    model = MODELS.build(cfg)
    for attr in ('global_token', 'diffusion_head'):
        assert (getattr(model, attr) is None) == (cfg.get(attr) is None)
    one_level = ('hilda-lastlevel', 'hilda-lastlevel-diff', 'hilda-onlylast',
                 'hilda-finestonly')
    levels = 4 if variant == 'hilda-4levels' else \
        1 if variant in one_level else 2
    assert model.distill_head.num_levels == levels
    if variant == 'hilda-occdecoder':
        assert type(model.diffusion_head).__name__ == 'OccupancyDecoderHead'
    if variant == 'hilda-epsonly':
        assert model.diffusion_head.x0_loss_weight == 0
    if variant == 'hilda-finestonly':  # stride 16, not the deepest stride 32
        assert model.teacher.strides == [16]
    if variant == 'hilda-onlylast':
        assert model.teacher.strides == [32]
