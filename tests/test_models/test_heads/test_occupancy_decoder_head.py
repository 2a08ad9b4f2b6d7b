# Copyright (c) HilDA authors. All rights reserved.
import torch
from mmdet3d.registry import MODELS

from projects.HilDA.hilda.models.heads import (OccupancyDecoderHead,
                                               OccupancyDiffusionHead)
from tests.test_models.test_heads.test_occupancy_diffusion_head import (
    build_head, temporal_inputs)


def build_decoder(**kwargs):
    head = build_head(type='OccupancyDecoderHead', **kwargs)
    assert isinstance(head, OccupancyDecoderHead)
    return head


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def test_decoder_has_the_diffusion_heads_capacity():
    diffusion, decoder = build_head(), build_decoder()
    assert type(diffusion) is OccupancyDiffusionHead
    assert num_params(decoder) == num_params(diffusion)


def test_decoder_learns_the_target_and_reaches_the_features():
    torch.manual_seed(0)
    head = build_decoder()
    inputs = temporal_inputs()
    optim = torch.optim.Adam(head.parameters(), lr=3e-3)
    first = None
    for step in range(30):
        losses = head.loss(**inputs)
        assert set(losses) == {'loss_occupancy', 'diff_valid'}
        optim.zero_grad()
        losses['loss_occupancy'].backward()
        if step == 0:
            first = losses['loss_occupancy'].item()
            assert inputs['feats_t0'].grad.abs().sum() > 0
            assert inputs['feats_prev'].grad.abs().sum() > 0
        optim.step()
    # BCE of a fair guess is log 2; fitting one batch must go well below
    assert first > 0.5
    assert losses['loss_occupancy'].item() < 0.6 * first


def test_samples_without_a_sequence_do_not_count():
    torch.manual_seed(0)
    head = build_decoder()
    inputs = temporal_inputs()
    valid = torch.tensor([True, False])
    base = head.loss(**inputs, valid=valid)
    other = dict(inputs, occ_target=inputs['occ_target'].clone())
    other['occ_target'][1] *= -1  # change only the invalid sample's target
    changed = head.loss(**other, valid=valid)
    assert float(base['diff_valid']) == 1.0
    assert torch.allclose(base['loss_occupancy'], changed['loss_occupancy'])
    flipped = dict(inputs, occ_target=inputs['occ_target'].clone())
    flipped['occ_target'][0] *= -1
    assert not torch.allclose(
        base['loss_occupancy'],
        head.loss(**flipped, valid=valid)['loss_occupancy'])


def test_diffusion_config_switches_to_the_decoder_by_type_alone():
    cfg = dict(
        type='OccupancyDiffusionHead',
        in_channels=8,
        point_cloud_range=(0.0, 0.0, 0.0, 16.0, 16.0, 4.0),
        cell_size=1.0,
        num_height_bins=1,
        cond_channels=16,
        block_out_channels=(16, 32),
        prediction_type='epsilon',
        x0_loss_weight=1.0,
        num_noise_draws=2)
    head = MODELS.build(dict(cfg, type='OccupancyDecoderHead'))
    inputs = temporal_inputs()
    occ = head.sample(
        feats_t0=inputs['feats_t0'][:, :8].detach(),
        xyz_t0=inputs['xyz_t0'],
        batch_t0=inputs['batch_t0'],
        feats_prev=inputs['feats_prev'][:, :8].detach(),
        xyz_prev=inputs['xyz_prev'],
        batch_prev=inputs['batch_prev'])
    assert occ.shape == (2, 1, 16, 16)
    assert occ.min() >= -1 and occ.max() <= 1
