# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
from mmdet3d.registry import MODELS

from projects.HilDA.hilda.datasets.transforms import bev_occupancy
from projects.HilDA.hilda.models.heads import OccupancyDiffusionHead

PCR = (0.0, 0.0, 0.0, 16.0, 16.0, 4.0)  # 16 x 16 cells of 1 m
K = 4
C = 8


def build_head(mode='temporal', **kwargs):
    cfg = dict(
        type='OccupancyDiffusionHead',
        in_channels=C,
        point_cloud_range=PCR,
        cell_size=1.0,
        num_height_bins=K,
        mode=mode,
        cond_channels=16,
        block_out_channels=(16, 32),
        norm_num_groups=8,
        num_train_timesteps=100,
        mask_patch_size=4,
        mask_ratio=0.25)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    assert isinstance(head, OccupancyDiffusionHead)
    return head


def make_scan(num=300, batch_size=2, seed=0):
    """Points with one-hot height-bin features and their occupancy."""
    gen = torch.Generator().manual_seed(seed)
    xyz = torch.rand(
        num * batch_size, 3, generator=gen) * torch.tensor([16.0, 16.0, 4.0])
    feats = torch.nn.functional.one_hot(xyz[:, 2].long(), C).float()
    batch = torch.arange(batch_size).repeat_interleave(num)
    occ = torch.stack([
        torch.from_numpy(bev_occupancy(xyz[batch == b].numpy(), PCR, 1.0, K))
        for b in range(batch_size)
    ])
    return feats, xyz, batch, occ


def temporal_inputs(seed=0):
    feats_prev, xyz_prev, batch_prev, _ = make_scan(seed=seed)
    feats_t0, xyz_t0, batch_t0, _ = make_scan(seed=seed + 1)
    _, _, _, occ_next = make_scan(seed=seed + 2)
    return dict(
        feats_prev=feats_prev.requires_grad_(),
        xyz_prev=xyz_prev,
        batch_prev=batch_prev,
        feats_t0=feats_t0.requires_grad_(),
        xyz_t0=xyz_t0,
        batch_t0=batch_t0,
        occ_target=occ_next)


def masked_inputs(head, seed=0):
    feats, xyz, batch, occ = make_scan(seed=seed)
    torch.manual_seed(seed)
    keep, bev_mask = head.sample_bev_patch_mask(xyz, batch, 2)
    return dict(
        feats_prev=None,
        xyz_prev=None,
        batch_prev=None,
        feats_t0=feats[keep].requires_grad_(),
        xyz_t0=xyz[keep],
        batch_t0=batch[keep],
        occ_target=occ,
        bev_mask=bev_mask)


@pytest.mark.parametrize('mode', ['temporal', 'masked'])
def test_loss_is_positive_and_reaches_the_input_features(mode):
    torch.manual_seed(0)
    head = build_head(mode)
    inputs = temporal_inputs() if mode == 'temporal' else masked_inputs(head)
    losses = head.loss(**inputs)
    assert set(losses) == {'loss_diffusion', 'loss_diffusion_x0', 'diff_valid'}
    loss = losses['loss_diffusion']
    assert loss.ndim == 0 and torch.isfinite(loss) and loss > 0
    loss.backward()
    for key in ('feats_prev', 'feats_t0'):
        if inputs[key] is not None:
            assert inputs[key].grad.abs().sum() > 0, key


def test_loss_weight_scales_the_loss():
    inputs = temporal_inputs()
    torch.manual_seed(0)
    head = build_head()
    base = head.loss(**inputs, iteration=1)
    head.loss_weight = 0.5
    half = head.loss(**inputs, iteration=1)
    for key in ('loss_diffusion', 'loss_diffusion_x0'):
        torch.testing.assert_close(half[key], base[key] * 0.5)


def test_masked_loss_ignores_the_target_outside_masked_cells():
    torch.manual_seed(0)
    head = build_head('masked')
    inputs = masked_inputs(head)
    masked = inputs['bev_mask'].expand(-1, K, -1, -1) > 0

    def loss_with(occ):
        # Ids: without them the noise would follow the target's content.
        return head.loss(
            **dict(inputs, occ_target=occ), sample_ids=['a', 'b'],
            iteration=5)['loss_diffusion']

    base = loss_with(inputs['occ_target'])
    outside_flipped = torch.where(masked, inputs['occ_target'],
                                  -inputs['occ_target'])
    inside_flipped = torch.where(masked, -inputs['occ_target'],
                                 inputs['occ_target'])
    torch.testing.assert_close(loss_with(outside_flipped), base)
    assert not torch.allclose(loss_with(inside_flipped), base)


def test_masked_loss_averages_only_over_masked_cells():
    torch.manual_seed(0)
    head = build_head('masked')
    inputs = masked_inputs(head)
    x0 = inputs['occ_target']
    alphas_cumprod = head.scheduler.alphas_cumprod
    masked = inputs['bev_mask'] > 0

    def denoiser_wrong_by(error_outside, error_inside):

        def forward(noisy, timesteps, cond, bev_mask=None):
            alpha = alphas_cumprod[timesteps].view(-1, 1, 1, 1)
            eps = (noisy - alpha.sqrt() * x0) / (1 - alpha).sqrt()
            return eps + torch.where(masked, error_inside, error_outside)

        return forward

    head.forward = denoiser_wrong_by(error_outside=5.0, error_inside=0.0)
    assert head.loss(**inputs)['loss_diffusion'] < 1e-6
    head.forward = denoiser_wrong_by(error_outside=0.0, error_inside=0.5)
    torch.testing.assert_close(
        head.loss(**inputs)['loss_diffusion'], torch.tensor(0.25))


def test_same_seed_gives_the_same_loss_with_global_rng_noise():
    torch.manual_seed(0)
    head = build_head(noise_per_sample=False)
    inputs = temporal_inputs()

    def loss_with_seed(seed):
        torch.manual_seed(seed)
        return head.loss(**inputs)['loss_diffusion'].item()

    assert loss_with_seed(3) == loss_with_seed(3)
    assert loss_with_seed(3) != loss_with_seed(4)


def test_per_sample_noise_follows_the_sample_not_its_batch():
    head = build_head()
    x0 = make_scan(batch_size=3)[3]
    t, noise = head.draw_noise(x0, ['a', 'b', 'c'], iteration=7)
    assert noise.shape == x0.shape and noise.dtype == torch.float32
    assert t.shape == (3, ) and t.dtype == torch.long
    # Sample 'b' alone, or first with other companions: the same draw.
    t_b, noise_b = head.draw_noise(x0[1:2], ['b'], iteration=7)
    t_bx, noise_bx = head.draw_noise(x0[[1, 0]], ['b', 'z'], iteration=7)
    for times, eps in ((t_b, noise_b), (t_bx[:1], noise_bx[:1])):
        assert times.tolist() == t[1:2].tolist()
        torch.testing.assert_close(eps, noise[1:2], rtol=0, atol=0)
    # The global RNG plays no part.
    torch.manual_seed(123)
    _, again = head.draw_noise(x0, ['a', 'b', 'c'], iteration=7)
    torch.testing.assert_close(again, noise, rtol=0, atol=0)
    # Another iteration, sample or seed: other noise.
    _, later = head.draw_noise(x0, ['a', 'b', 'c'], iteration=8)
    assert not torch.allclose(later, noise)
    assert not torch.allclose(noise[0], noise[1])
    other_seed = build_head(noise_seed=1)
    _, reseeded = other_seed.draw_noise(x0, ['a', 'b', 'c'], iteration=7)
    assert not torch.allclose(reseeded, noise)


def test_per_sample_noise_without_ids_follows_the_target():
    head = build_head()
    x0 = make_scan(batch_size=2)[3]
    _, noise = head.draw_noise(x0, iteration=0)
    _, swapped = head.draw_noise(x0.flip(0), iteration=0)
    torch.testing.assert_close(swapped, noise.flip(0), rtol=0, atol=0)
    # Repeats of one example in a batch still get different noise.
    _, repeated = head.draw_noise(x0[[0, 0]], iteration=0)
    assert not torch.allclose(repeated[0], repeated[1])
    _, repeated = head.draw_noise(x0, ['a', 'a'], iteration=0)
    assert not torch.allclose(repeated[0], repeated[1])
    # A missing id (None) falls back to the target.
    _, partly = head.draw_noise(x0, ['a', None], iteration=0)
    torch.testing.assert_close(partly[1], noise[1], rtol=0, atol=0)
    with pytest.raises(ValueError, match='3 sample_ids for a batch of 2'):
        head.draw_noise(x0, ['a', 'b', 'c'])


def test_loss_takes_the_sample_ids_from_the_data_samples():
    from mmdet3d.structures import Det3DDataSample
    head = build_head()
    inputs = temporal_inputs()
    samples = [
        Det3DDataSample(metainfo=dict(token='t0', sample_idx=4)),
        Det3DDataSample(metainfo=dict(sample_idx=9))
    ]
    by_samples = head.loss(
        **inputs, data_samples=samples, iteration=2)['loss_diffusion']
    by_ids = head.loss(
        **inputs, sample_ids=['t0', 9], iteration=2)['loss_diffusion']
    torch.testing.assert_close(by_samples, by_ids, rtol=0, atol=0)
    other = head.loss(
        **inputs, sample_ids=['t1', 9], iteration=2)['loss_diffusion']
    assert other != by_ids


def test_per_sample_noise_takes_the_runner_iteration():
    from mmengine.logging import MessageHub
    head = build_head()
    x0 = make_scan(batch_size=2)[3]
    hub = MessageHub.get_instance('test_diffusion_noise_iter')
    hub.update_info('iter', 41)
    _, at_41 = head.draw_noise(x0, ['a', 'b'])
    torch.testing.assert_close(
        at_41,
        head.draw_noise(x0, ['a', 'b'], iteration=41)[1])
    # A second draw at the same (stale) 'iter' is fresh noise.
    _, again = head.draw_noise(x0, ['a', 'b'])
    assert not torch.allclose(again, at_41)
    hub.update_info('iter', 42)
    _, at_42 = head.draw_noise(x0, ['a', 'b'])
    torch.testing.assert_close(
        at_42,
        head.draw_noise(x0, ['a', 'b'], iteration=42)[1])
    # A fresh head (a resumed run) at the same 'iter' draws the same.
    torch.testing.assert_close(build_head().draw_noise(x0, ['a', 'b'])[1],
                               at_42)


@pytest.mark.parametrize('mode', ['temporal', 'masked'])
def test_ranks_match_one_process_with_the_whole_batch(monkeypatch, mode):
    """Per-sample noise and the all-rank mean: samples split 1 + 2 over two
    (simulated, tests/helpers/fake_dist.py) ranks give the loss and the
    gradient of one process with all 3."""
    from tests.helpers.fake_dist import assert_ranks_match_one_process
    torch.manual_seed(0)
    head = build_head(mode)
    feats_prev, xyz_prev, batch_prev, _ = make_scan(batch_size=3, seed=0)
    feats_t0, xyz_t0, batch_t0, occ_t0 = make_scan(batch_size=3, seed=1)
    occ_next = make_scan(batch_size=3, seed=2)[3]
    # Masked mode: a fixed patch mask (its draw is not per sample).
    keep, bev_mask = head.sample_bev_patch_mask(xyz_t0, batch_t0, 3)
    ids = ['s0', 's1', 's2']

    def loss_fn(samples):
        inputs = dict(
            sample_ids=[ids[s] for s in samples.tolist()], iteration=3)
        rows = torch.isin(batch_t0, samples)
        if mode == 'masked':
            rows &= keep
            inputs.update(
                feats_prev=None,
                xyz_prev=None,
                batch_prev=None,
                occ_target=occ_t0[samples],
                bev_mask=bev_mask[samples])
        else:
            prev = torch.isin(batch_prev, samples)
            inputs.update(
                feats_prev=feats_prev[prev],
                xyz_prev=xyz_prev[prev],
                batch_prev=torch.searchsorted(samples, batch_prev[prev]),
                occ_target=occ_next[samples])
        inputs.update(
            feats_t0=feats_t0[rows],
            xyz_t0=xyz_t0[rows],
            batch_t0=torch.searchsorted(samples, batch_t0[rows]))
        return head.loss(**inputs)['loss_diffusion']

    assert_ranks_match_one_process(
        monkeypatch, loss_fn, head.parameters(), torch.arange(3),
        [torch.tensor([1]), torch.tensor([0, 2])])


def test_loss_runs_under_autocast_with_float32_scheduler_math():
    torch.manual_seed(0)
    head = build_head()
    inputs = temporal_inputs()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        cond = head.build_condition(inputs['feats_t0'], inputs['xyz_t0'],
                                    inputs['batch_t0'], 2,
                                    inputs['feats_prev'], inputs['xyz_prev'],
                                    inputs['batch_prev'])
        loss = head.loss(**inputs)['loss_diffusion']
    assert cond.dtype == torch.bfloat16  # the conv ran in low precision
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert inputs['feats_t0'].grad.abs().sum() > 0


def test_grid_not_divisible_by_the_unet_gives_a_clear_error():
    with pytest.raises(ValueError, match='divisible by 4'):
        build_head(
            point_cloud_range=(0, 0, 0, 18, 16, 4),
            block_out_channels=(8, 8, 8))


def test_target_shape_mismatch_is_reported():
    torch.manual_seed(0)
    head = build_head()
    inputs = temporal_inputs()
    inputs['occ_target'] = inputs['occ_target'][:, :2]
    with pytest.raises(ValueError, match='num_height_bins'):
        head.loss(**inputs)


def test_masked_mode_requires_the_bev_mask():
    torch.manual_seed(0)
    head = build_head('masked')
    inputs = masked_inputs(head)
    inputs['bev_mask'] = None
    with pytest.raises(ValueError, match='bev_mask'):
        head.loss(**inputs)


def test_init_cfg_is_applied():
    head = build_head(
        init_cfg=dict(type='Constant', layer='Conv2d', val=0.5, bias=0.0))
    head.init_weights()
    assert torch.all(head.cond_conv[0].weight == 0.5)
    assert torch.all(head.unet.conv_in.weight == 0.5)


@pytest.mark.parametrize('scheduler', ['ddim', 'ddpm'])
def test_sample_shape_and_range(scheduler):
    torch.manual_seed(0)
    head = build_head().eval()
    inputs = temporal_inputs()
    inputs.pop('occ_target')
    gen = torch.Generator().manual_seed(0)
    out = head.sample(
        **inputs, num_inference_steps=4, scheduler=scheduler, generator=gen)
    assert out.shape == (2, K, 16, 16) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1
    again = head.sample(
        **inputs,
        num_inference_steps=4,
        scheduler=scheduler,
        generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, again)


def test_masked_sample_only_predicts_masked_cells():
    torch.manual_seed(0)
    head = build_head('masked').eval()
    inputs = masked_inputs(head)
    out = head.sample(
        feats_t0=inputs['feats_t0'],
        xyz_t0=inputs['xyz_t0'],
        batch_t0=inputs['batch_t0'],
        bev_mask=inputs['bev_mask'],
        num_inference_steps=3)
    outside = inputs['bev_mask'].expand_as(out) == 0
    assert torch.all(out[outside] == 0)
    assert torch.count_nonzero(out[~outside]) > 0


@pytest.mark.parametrize('scheduler', ['ddim', 'ddpm'])
def test_reverse_process_with_an_oracle_denoiser_recovers_x0(scheduler):
    """The exact noise of a known x0 must lead the sampler back to x0."""
    torch.manual_seed(0)
    head = build_head()
    x0 = torch.where(torch.rand(2, K, 16, 16) > 0.5, 1.0, -1.0)
    alphas_cumprod = head.scheduler.alphas_cumprod

    def oracle(noisy, timesteps, cond, bev_mask=None):
        alpha = alphas_cumprod[timesteps].view(-1, 1, 1, 1)
        return (noisy - alpha.sqrt() * x0) / (1 - alpha).sqrt()

    head.forward = oracle
    out = head.sample(
        torch.zeros(2, 16, 16, 16),
        num_inference_steps=10,
        scheduler=scheduler,
        generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(out, x0, atol=1e-4, rtol=0)


def test_trained_tiny_denoiser_recovers_its_example():
    torch.manual_seed(0)
    head = build_head()
    feats, xyz, batch, occ = make_scan(num=600, batch_size=1, seed=1)
    # The same example 8 times: more timesteps per optimiser step.
    feats, xyz, occ = feats.repeat(8,
                                   1), xyz.repeat(8,
                                                  1), occ.repeat(8, 1, 1, 1)
    batch = torch.arange(8).repeat_interleave(600)
    occupied = (occ[0] > 0).float().mean()
    assert 0.3 < occupied < 0.7  # so that "all empty" is no good answer
    optim = torch.optim.Adam(head.parameters(), lr=3e-3)
    for _ in range(200):
        loss = head.loss(feats, xyz, batch, feats, xyz, batch,
                         occ)['loss_diffusion']
        optim.zero_grad()
        loss.backward()
        optim.step()
    out = head.eval().sample(
        feats_prev=feats[:600],
        xyz_prev=xyz[:600],
        batch_prev=batch[:600],
        feats_t0=feats[:600],
        xyz_t0=xyz[:600],
        batch_t0=batch[:600],
        num_inference_steps=10,
        generator=torch.Generator().manual_seed(0))
    accuracy = ((out[0] > 0) == (occ[0] > 0)).float().mean()
    assert accuracy > 0.85


def test_clean_sample_term_is_lambda_times_the_error_of_the_estimate():
    """prediction_type='sample': a denoiser that answers 0.7 * x0 is off
    by 0.3 in every cell, in both terms; lambda scales only the second."""
    head = build_head(
        prediction_type='sample', x0_loss_weight=2.0, x0_weighting='none')
    inputs = temporal_inputs()
    x0 = inputs['occ_target']
    head.forward = lambda noisy, t, cond, bev_mask=None: 0.7 * x0
    losses = head.loss(**inputs, iteration=0)
    torch.testing.assert_close(losses['loss_diffusion'], torch.tensor(0.09))
    torch.testing.assert_close(losses['loss_diffusion_x0'], torch.tensor(0.18))


def test_an_exact_noise_prediction_zeroes_both_terms():
    head = build_head()
    inputs = temporal_inputs()
    x0 = inputs['occ_target']
    alphas_cumprod = head.scheduler.alphas_cumprod

    def oracle(noisy, timesteps, cond, bev_mask=None):
        alpha = alphas_cumprod[timesteps].view(-1, 1, 1, 1)
        return (noisy - alpha.sqrt() * x0) / (1 - alpha).sqrt()

    head.forward = oracle
    losses = head.loss(**inputs, iteration=0)
    assert losses['loss_diffusion'] < 1e-8
    assert losses['loss_diffusion_x0'] < 1e-6


def test_lambda_zero_is_the_epsilon_only_loss():
    inputs = temporal_inputs()
    torch.manual_seed(0)
    full = build_head().loss(**inputs, iteration=0)
    torch.manual_seed(0)
    eps_only = build_head(x0_loss_weight=0).loss(**inputs, iteration=0)
    assert 'loss_diffusion_x0' not in eps_only
    torch.testing.assert_close(eps_only['loss_diffusion'],
                               full['loss_diffusion'])


def test_prediction_type_and_beta_schedule_are_options():
    head = build_head(
        prediction_type='v_prediction', beta_schedule='squaredcos_cap_v2')
    assert head.scheduler.config.prediction_type == 'v_prediction'
    assert head.forward_diffusion.prediction_type == 'v_prediction'
    linear = build_head().scheduler.alphas_cumprod
    assert not torch.allclose(head.scheduler.alphas_cumprod, linear)
    with pytest.raises(ValueError, match='prediction_type'):
        build_head(prediction_type='noise')


def test_several_draws_share_one_condition(monkeypatch):
    torch.manual_seed(0)
    head = build_head(num_noise_draws=3)
    calls, unet_batches = [], []
    cond_forward = head.cond_conv.forward
    unet_forward = head.unet.forward
    monkeypatch.setattr(head.cond_conv, 'forward',
                        lambda x: calls.append(x.shape[0]) or cond_forward(x))
    monkeypatch.setattr(
        head.unet, 'forward', lambda x, t: unet_batches.append(
            (x.shape[0], t.shape[0])) or unet_forward(x, t))
    losses = head.loss(**temporal_inputs(), iteration=0)
    assert calls == [2]  # the student's BEV condition, once per sample
    assert unet_batches == [(6, 6)]  # 2 samples x 3 draws
    assert losses['diff_valid'] == 2


def fallback_samples(flags):
    import numpy as np
    from mmdet3d.structures import Det3DDataSample
    return [
        Det3DDataSample(
            metainfo=dict(token=f's{b}', temporal_fallback=np.array(f)))
        for b, f in enumerate(flags)
    ]


def test_samples_without_a_sequence_are_left_out_and_counted():
    torch.manual_seed(0)
    head = build_head()
    inputs = temporal_inputs()
    samples = fallback_samples([[False, False], [False, True]])
    losses = head.loss(**inputs, data_samples=samples, iteration=4)
    assert losses['diff_valid'] == 1
    # The same as sample 0 alone.
    alone = {
        k: (v[inputs['batch_prev' if k.endswith('prev') else 'batch_t0'] == 0]
            if k.startswith(('feats', 'xyz', 'batch')) else v[:1])
        for k, v in inputs.items()
    }
    expected = head.loss(**alone, sample_ids=['s0'], iteration=4)
    for key in ('loss_diffusion', 'loss_diffusion_x0'):
        torch.testing.assert_close(losses[key], expected[key])
    # Both without a sequence: zero loss, still in the graph.
    none = head.loss(
        **inputs,
        data_samples=fallback_samples([[True, False], [False, True]]),
        iteration=4)
    assert none['diff_valid'] == 0 and none['loss_diffusion'] == 0
    none['loss_diffusion'].backward()


def test_masked_mode_needs_no_sequence():
    torch.manual_seed(0)
    head = build_head('masked')
    losses = head.loss(
        **masked_inputs(head),
        data_samples=fallback_samples([[True, False], [False, True]]))
    assert losses['diff_valid'] == 2 and losses['loss_diffusion'] > 0


# The clean-occupancy term: no clip in the loss, timestep weighting -------
def best_constant_offset(head, x0, offsets):
    """The constant denoiser output c (an epsilon bias: the denoiser does
    not know the noise) with the lowest total loss on ``x0``, the same
    draws for every c."""
    cond = torch.zeros(len(x0), 8, *x0.shape[2:])
    head.build_condition = lambda *args, **kwargs: cond
    totals = []
    for c in offsets:
        head.forward = lambda noisy, t, cond, bev_mask=None, c=c: \
            torch.full_like(noisy, float(c))
        losses = head.loss(
            None,
            None,
            None,
            None,
            None,
            None,
            x0,
            iteration=0,
            sample_ids=list(range(len(x0))),
            valid=torch.ones(len(x0), dtype=bool))
        totals.append(
            float(losses['loss_diffusion'] + losses['loss_diffusion_x0']))
    return float(offsets[int(torch.tensor(totals).argmin())])


@pytest.mark.parametrize('weighting', ['low_noise', 'alpha_bar', 'none'])
def test_all_empty_target_has_no_optimal_epsilon_bias_without_the_clip(
        weighting):
    """About 96 % of the BEV cells are empty (-1). Clipped, x_hat_0 below
    -1 costs nothing, so a positive epsilon bias pays; unclipped the best
    constant output is the noise's mean, 0."""
    x0 = -torch.ones(64, K, 16, 16)
    offsets = torch.linspace(-0.5, 0.5, 41)
    kwargs = dict(
        x0_weighting=weighting, num_noise_draws=8, num_train_timesteps=1000)
    unclipped = best_constant_offset(build_head(**kwargs), x0, offsets)
    assert abs(unclipped) <= 0.025
    clipped = best_constant_offset(
        build_head(clip_x0=True, **kwargs), x0, offsets)
    # Clipped at both ends, the error of x_hat_0 is capped at 2: the
    # weighted forms keep a smaller bias, the unweighted one a large one.
    assert clipped >= unclipped + 0.04
    if weighting == 'none':
        assert clipped >= 0.2


@pytest.mark.parametrize('weighting',
                         ['low_noise', 'alpha_bar', 'min_snr', 'none'])
def test_x0_weight_is_the_per_t_factor_of_the_scheduler(weighting):
    head = build_head(
        x0_weighting=weighting, x0_snr_gamma=2.0, num_train_timesteps=1000)
    t = torch.tensor([0, 10, 100, 300, 600, 999])
    a = head.scheduler.alphas_cumprod[t].float()
    snr = a / (1 - a)
    expected = dict(
        low_noise=a * snr,
        alpha_bar=a,
        min_snr=snr.clamp(max=2.0),
        none=torch.ones_like(a))[weighting]
    torch.testing.assert_close(head.x0_weight(t), expected)


def test_low_noise_weighting_puts_the_x0_gradient_at_low_noise():
    """Per unit of epsilon error the x0 term's gradient factor is
    w(t) (1 - a_t) / a_t; 'low_noise' puts most of its square at t < 300,
    the unweighted form nearly none."""
    t = torch.arange(1000)

    def low_noise_share(weighting):
        head = build_head(x0_weighting=weighting, num_train_timesteps=1000)
        a = head.scheduler.alphas_cumprod.double()
        factor = head.x0_weight(t).double() * (1 - a) / a
        return float(factor[:300].square().sum() / factor.square().sum())

    assert low_noise_share('low_noise') > 0.9
    assert low_noise_share('alpha_bar') < 0.1
    assert low_noise_share('none') < 0.001


def test_low_noise_x0_term_is_alpha_bar_times_the_epsilon_error():
    head = build_head(x0_loss_weight=1.0, x0_weighting='low_noise')
    inputs = temporal_inputs()
    x0 = inputs['occ_target']
    seen = {}

    def denoiser(noisy, timesteps, cond, bev_mask=None):
        seen['t'] = timesteps
        seen['pred'] = torch.randn_like(noisy)
        return seen['pred']

    head.forward = denoiser
    losses = head.loss(**inputs, iteration=0)
    _, noise = head.draw_noise(x0, iteration=0)
    a = head.scheduler.alphas_cumprod[seen['t']].view(-1, 1, 1, 1)
    expected = (a * (seen['pred'] - noise).square()).mean()
    torch.testing.assert_close(losses['loss_diffusion_x0'], expected)


def test_unknown_x0_weighting_is_a_clear_error():
    with pytest.raises(ValueError, match='x0_weighting must be one of'):
        build_head(x0_weighting='snr')


# Flags of the UNet, scheduler and pooling --------------------------------
def test_pool_reduce_max_keeps_the_largest_feature_of_a_cell():
    feats = torch.tensor([[1.0] * C, [3.0] * C, [2.0] * C])
    xyz = torch.tensor([[0.5, 0.5, 1.0], [0.6, 0.4, 1.0], [5.5, 5.5, 1.0]])
    batch = torch.zeros(3, dtype=torch.long)
    pooled = build_head(pool_reduce='max').pool(feats, xyz, batch, 1)
    mean = build_head().pool(feats, xyz, batch, 1)
    assert float(pooled[0, 0, 0, 0]) == 3.0 and float(mean[0, 0, 0, 0]) == 2.0
    assert float(pooled[0, 0, 5, 5]) == 2.0


def test_add_attention_puts_self_attention_in_the_mid_block():
    assert build_head().unet.mid_block.attentions[0] is None
    head = build_head(add_attention=True, unet_cfg=dict(attention_head_dim=8))
    assert head.unet.mid_block.attentions[0] is not None
    losses = head.loss(**temporal_inputs(), iteration=0)
    assert torch.isfinite(losses['loss_diffusion'])


def test_unet_cfg_overrides_the_unet_arguments():
    head = build_head(unet_cfg=dict(layers_per_block=2, act_fn='mish'))
    assert len(head.unet.down_blocks[0].resnets) == 2
    assert head.unet.config.act_fn == 'mish'
    assert len(build_head().unet.down_blocks[0].resnets) == 1


def test_scheduler_cfg_overrides_the_scheduler_arguments():
    head = build_head(
        scheduler_cfg=dict(beta_end=0.01, timestep_spacing='leading'))
    assert head.scheduler.config.timestep_spacing == 'leading'
    assert build_head().scheduler.config.timestep_spacing == 'trailing'
    assert float(head.scheduler.alphas_cumprod[-1]) > float(
        build_head().scheduler.alphas_cumprod[-1])
