# Copyright (c) HilDA authors. All rights reserved.
"""The diffusion modes own their channels, mask, samples and scans."""
import pytest
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample

from projects.HilDA.hilda.models.heads.diffusion_modes import (
    DIFFUSION_MODES, MaskedDiffusionMode, TemporalDiffusionMode,
    build_diffusion_mode)
from tests.helpers.tiny_hilda import tiny_model_cfg


def pool_ones(feats, xyz, batch, batch_size):
    return torch.ones(batch_size, feats.shape[1], 4, 4)


def test_each_mode_states_its_channels_scans_and_target():
    temporal, masked = TemporalDiffusionMode(), MaskedDiffusionMode()
    assert (temporal.condition_channels(8), masked.condition_channels(8)) \
        == (16, 9)
    assert temporal.uses_prev_scan and not masked.uses_prev_scan
    assert masked.masks_input and not temporal.masks_input
    assert temporal.target_source_key == 'points_next'
    assert masked.target_source_key == 'points'
    assert set(DIFFUSION_MODES) == {'temporal', 'masked'}


def test_unknown_mode_names_the_choices():
    with pytest.raises(ValueError, match=r"\('temporal', 'masked'\)"):
        build_diffusion_mode('future')


def test_temporal_condition_stacks_t_minus_1_before_t0():
    bev_t0 = torch.zeros(2, 3, 4, 4)
    feats = torch.randn(5, 3)
    raw = TemporalDiffusionMode().raw_condition(pool_ones, bev_t0, 2, (4, 4),
                                                feats, feats[:, :3],
                                                torch.zeros(5).long(), None)
    assert raw.shape == (2, 6, 4, 4)
    assert raw[:, :3].eq(1).all() and raw[:, 3:].eq(0).all()
    with pytest.raises(ValueError, match='needs the t-1 features'):
        TemporalDiffusionMode().raw_condition(pool_ones, bev_t0, 2, (4, 4),
                                              None, None, None, None)


def test_masked_mode_reads_only_the_masked_cells():
    mode = MaskedDiffusionMode()
    mask = torch.zeros(2, 1, 4, 4)
    mask[:, :, :2] = 1
    noisy = torch.randn(2, 3, 4, 4)
    seen = mode.denoiser_input(noisy, mask)
    assert seen[:, :, 2:].eq(0).all()
    torch.testing.assert_close(seen[:, :, :2], noisy[:, :, :2])
    torch.testing.assert_close(
        mode.cell_weight(torch.tensor([True, False]), mask), mask)
    with pytest.raises(ValueError, match='needs bev_mask of shape'):
        mode.denoiser_input(noisy, mask[:1])


def test_temporal_mode_leaves_out_samples_without_a_sequence():
    samples = [Det3DDataSample(), Det3DDataSample()]
    samples[1].set_metainfo(dict(temporal_fallback=[False, True]))
    valid = TemporalDiffusionMode().valid_samples(2, samples)
    assert valid.tolist() == [True, False]
    assert MaskedDiffusionMode().valid_samples(
        2, samples).tolist() == [True, True]
    weight = TemporalDiffusionMode().cell_weight(valid, None)
    assert weight.view(-1).tolist() == [1.0, 0.0]


@pytest.mark.parametrize('mode', ['temporal', 'masked'])
def test_pretrainer_configures_the_t_minus_1_scan_from_the_mode(mode):
    cfg = tiny_model_cfg()
    cfg['diffusion_head'] = dict(cfg['diffusion_head'], mode=mode)
    model = MODELS.build(cfg)
    assert model.diffusion_head.diffusion_mode.name == mode
    assert model.data_preprocessor.voxelize_prev == (mode == 'temporal')
    assert model.masked_mode == (mode == 'masked')
    off = MODELS.build(tiny_model_cfg(diffusion_head=None))
    assert off.data_preprocessor.voxelize_prev is False


def test_a_voxelize_prev_against_the_mode_is_a_clear_error():
    cfg = tiny_model_cfg(diffusion_head=None)
    cfg['data_preprocessor'] = dict(
        cfg['data_preprocessor'], voxelize_prev=True)
    with pytest.raises(ValueError, match='voxelize_prev=True contradicts'):
        MODELS.build(cfg)
