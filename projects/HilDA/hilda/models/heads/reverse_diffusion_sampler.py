# Copyright (c) HilDA authors. All rights reserved.
"""The reverse diffusion loop (DDIM or DDPM) of the occupancy head."""
from typing import Callable, Optional, Sequence

import torch
from diffusers import DDIMScheduler, DDPMScheduler
from diffusers.utils.torch_utils import randn_tensor
from torch import Tensor


class ReverseDiffusionSampler:
    """Generates a sample from pure noise with a denoiser.

    The diffusers scheduler is a fresh copy built from the training
    scheduler's config (same betas and ``prediction_type``) at every call,
    so sampling leaves training alone.

    Args:
        scheduler_config (dict): The training ``DDPMScheduler``'s config.
        scheduler (str): ``'ddim'`` (deterministic for ``eta=0``) or
            ``'ddpm'`` (ancestral). Defaults to ``'ddim'``.
        num_inference_steps (int): Reverse steps. Defaults to 50.
        eta (float): DDIM noise scale. Defaults to 0.
    """

    SCHEDULERS = dict(ddim=DDIMScheduler, ddpm=DDPMScheduler)

    def __init__(self,
                 scheduler_config: dict,
                 scheduler: str = 'ddim',
                 num_inference_steps: int = 50,
                 eta: float = 0.0) -> None:
        if scheduler not in self.SCHEDULERS:
            raise ValueError(
                f"scheduler must be 'ddim' or 'ddpm', got {scheduler!r}")
        self.scheduler_config = scheduler_config
        self.scheduler = scheduler
        self.num_inference_steps = num_inference_steps
        self.eta = eta

    @torch.no_grad()
    def __call__(self,
                 denoiser: Callable[[Tensor, Tensor], Tensor],
                 shape: Sequence[int],
                 device: torch.device,
                 generator: Optional[torch.Generator] = None) -> Tensor:
        """Run the reverse process.

        Args:
            denoiser (callable): ``(x_t, timesteps (N,)) -> output`` in the
                scheduler's ``prediction_type``.
            shape (Sequence[int]): (N, K, H, W) of the sample.
            device (torch.device): Where to sample.
            generator (torch.Generator, optional): RNG of the initial and
                the per-step noise; torch's global RNG when None.

        Returns:
            Tensor: (N, K, H, W) float32 sample clamped to [-1, 1].
        """
        sched = self.SCHEDULERS[self.scheduler].from_config(
            self.scheduler_config)
        step_kwargs = dict(eta=self.eta) if self.scheduler == 'ddim' else {}
        sched.set_timesteps(self.num_inference_steps, device=device)
        sample = randn_tensor(
            tuple(shape),
            generator=generator,
            device=device,
            dtype=torch.float32) * sched.init_noise_sigma
        for t in sched.timesteps:
            out = denoiser(sample, t.reshape(1).expand(shape[0]))
            sample = sched.step(
                out.float(), t, sample, generator=generator,
                **step_kwargs).prev_sample
        return sample.clamp(-1, 1)
