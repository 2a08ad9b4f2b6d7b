# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
from diffusers import DDPMScheduler

from projects.HilDA.hilda.models.heads import ForwardDiffusion


def diffusion(prediction_type='epsilon', **kwargs):
    scheduler = DDPMScheduler(
        num_train_timesteps=100, prediction_type=prediction_type)
    return ForwardDiffusion(scheduler, **kwargs)


def clean(batch=2):
    gen = torch.Generator().manual_seed(0)
    return torch.where(
        torch.rand(batch, 1, 8, 8, generator=gen) > 0.5, 1.0, -1.0)


@pytest.mark.parametrize('prediction_type',
                         ['epsilon', 'v_prediction', 'sample'])
def test_the_exact_target_gives_back_the_clean_sample(prediction_type):
    fwd = diffusion(prediction_type)
    x0 = clean()
    timesteps, noise = fwd.draw(x0, ['a', 'b'], iteration=0)
    noisy = fwd.add_noise(x0, noise, timesteps)
    target = fwd.target(x0, noise, timesteps)
    torch.testing.assert_close(
        fwd.predict_x0(target, noisy, timesteps), x0, atol=2e-4, rtol=0)


@pytest.mark.parametrize('prediction_type',
                         ['epsilon', 'v_prediction', 'sample'])
def test_the_target_is_that_of_the_prediction_type(prediction_type):
    fwd = diffusion(prediction_type)
    x0 = clean()
    timesteps = torch.tensor([10, 90])
    noise = torch.randn_like(x0)
    alpha = fwd.scheduler.alphas_cumprod[timesteps].view(-1, 1, 1, 1)
    expected = dict(
        epsilon=noise,
        v_prediction=alpha.sqrt() * noise - (1 - alpha).sqrt() * x0,
        sample=x0)[prediction_type]
    torch.testing.assert_close(
        fwd.target(x0, noise, timesteps), expected, atol=1e-5, rtol=0)


def test_several_draws_per_sample_are_sample_major_and_differ():
    fwd = diffusion(num_draws=4)
    x0 = clean(batch=3)
    timesteps, noise = fwd.draw(x0, ['a', 'b', 'c'], iteration=3)
    assert timesteps.shape == (12, ) and noise.shape == (12, 1, 8, 8)
    # Sample 'b' alone draws the same four pairs: rows 4..7 are its own.
    t_b, noise_b = fwd.draw(x0[1:2], ['b'], iteration=3)
    assert t_b.tolist() == timesteps[4:8].tolist()
    torch.testing.assert_close(noise_b, noise[4:8], rtol=0, atol=0)
    assert len(set(timesteps[4:8].tolist())) > 1
    assert not torch.allclose(noise[4], noise[5])


def test_one_draw_keeps_the_single_draw_stream():
    """num_draws=1 draws what the head drew before draws existed: the
    timestep, then the noise, from the sample's generator."""
    from projects.HilDA.hilda.models.heads import sample_noise_seed
    fwd = diffusion()
    x0 = clean(batch=1)
    timesteps, noise = fwd.draw(x0, ['a'], iteration=5)
    gen = torch.Generator().manual_seed(sample_noise_seed(0, 'a#0', 5))
    assert timesteps.tolist() == torch.randint(
        0, 100, (1, ), generator=gen).tolist()
    torch.testing.assert_close(noise[0], torch.randn(1, 8, 8, generator=gen))


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match='num_draws'):
        diffusion(num_draws=0)
    scheduler = DDPMScheduler(num_train_timesteps=10)
    scheduler.register_to_config(prediction_type='noise')
    with pytest.raises(ValueError, match='prediction_type'):
        ForwardDiffusion(scheduler)
