# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
from diffusers import DDPMScheduler

from projects.HilDA.hilda.models.heads import ReverseDiffusionSampler


@pytest.mark.parametrize('prediction_type', ['epsilon', 'v_prediction'])
def test_an_oracle_denoiser_leads_back_to_its_sample(prediction_type):
    config = DDPMScheduler(
        num_train_timesteps=100,
        prediction_type=prediction_type,
        timestep_spacing='trailing').config
    alphas = DDPMScheduler.from_config(config).alphas_cumprod
    x0 = torch.where(torch.rand(2, 1, 8, 8) > 0.5, 1.0, -1.0)

    def oracle(noisy, timesteps):
        alpha = alphas[timesteps].view(-1, 1, 1, 1)
        eps = (noisy - alpha.sqrt() * x0) / (1 - alpha).sqrt()
        if prediction_type == 'epsilon':
            return eps
        return alpha.sqrt() * eps - (1 - alpha).sqrt() * x0

    sampler = ReverseDiffusionSampler(config, num_inference_steps=10)
    out = sampler(oracle, x0.shape, torch.device('cpu'),
                  torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, x0, atol=1e-3, rtol=0)


def test_unknown_scheduler_is_a_clear_error():
    with pytest.raises(ValueError, match="'ddim' or 'ddpm'"):
        ReverseDiffusionSampler({}, scheduler='euler')
