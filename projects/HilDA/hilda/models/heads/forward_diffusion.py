# Copyright (c) HilDA authors. All rights reserved.
"""Noise drawing and the forward diffusion process of the occupancy head."""
import hashlib
from typing import Any, List, Optional, Sequence, Tuple

import torch
from diffusers import DDPMScheduler
from mmengine.logging import MessageHub
from torch import Tensor

PREDICTION_TYPES = ('epsilon', 'v_prediction', 'sample')


def sample_noise_seed(seed: int, sample_key: Any, iteration: Any) -> int:
    """Seed of one sample's diffusion noise at one training iteration.

    A hash (not Python's ``hash``, which changes between processes) of
    ``(seed, sample_key, iteration)``, in ``[0, 2**63)``.
    """
    text = f'{int(seed)}|{sample_key}|{iteration}'
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, 'little') >> 1


class ForwardDiffusion:
    """Draws timesteps and noise, noises a clean sample, gives the target.

    Holds a diffusers ``DDPMScheduler`` (the beta schedule and the
    prediction type) and nothing trainable.

    Noise: with ``noise_per_sample=True`` each sample's timesteps and noise
    come from its own ``torch.Generator``, seeded from ``(noise_seed, the
    sample's identity, the training iteration)``. A sample then gets the
    same noise whichever rank and batch position it lands in, so a DDP run
    matches one process with the combined batch, and a resumed run draws
    what the uninterrupted one drew. The iteration is ``iteration``, else
    mmengine's ``MessageHub`` ``'iter'`` (set by ``RuntimeInfoHook``).
    ``noise_per_sample=False`` draws everything from torch's global RNG
    (seeded by mmengine's ``randomness``).

    Draws: every sample gets ``num_draws`` (timestep, noise) pairs; the
    drawn rows are sample-major (row ``b * num_draws + r``), so the caller
    repeats each sample's clean occupancy and condition with
    ``repeat_interleave(num_draws, 0)``.

    Args:
        scheduler (DDPMScheduler): The training noise scheduler.
        num_draws (int): (t, noise) pairs per sample. Defaults to 1.
        noise_per_sample (bool): Per-sample generators (see above).
        noise_seed (int): Base seed of the per-sample noise.
    """

    def __init__(self,
                 scheduler: DDPMScheduler,
                 num_draws: int = 1,
                 noise_per_sample: bool = True,
                 noise_seed: int = 0) -> None:
        if int(num_draws) < 1:
            raise ValueError(f'num_draws must be >= 1, got {num_draws}')
        prediction_type = scheduler.config.prediction_type
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f'prediction_type must be one of '
                             f'{PREDICTION_TYPES}, got {prediction_type!r}')
        self.scheduler = scheduler
        self.num_draws = int(num_draws)
        self.noise_per_sample = noise_per_sample
        self.noise_seed = int(noise_seed)
        # MessageHub's 'iter' at the last draw and the draws since at it.
        self._noise_iter = None
        self._noise_repeat = 0

    @property
    def prediction_type(self) -> str:
        """What the denoiser predicts: epsilon, v_prediction or sample."""
        return self.scheduler.config.prediction_type

    @property
    def num_train_timesteps(self) -> int:
        return self.scheduler.config.num_train_timesteps

    def draw(self,
             x0: Tensor,
             sample_ids: Optional[Sequence[Any]] = None,
             iteration: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """The timesteps and the noise of one training step.

        With ``noise_per_sample``, sample ``b`` draws its ``num_draws``
        timesteps, then its noise, from a generator on ``x0``'s device
        seeded by :func:`sample_noise_seed` from ``noise_seed``, its key and
        the iteration, so they depend on nothing else in the batch. Its key
        is ``sample_ids[b]`` if given (not None), else a hash of ``x0[b]``,
        and its rank among the equal keys of the batch. A further draw at
        the same ``'iter'`` (no Runner, or a stale ``'iter'``) counts as a
        new iteration.

        Args:
            x0 (Tensor): (B, K, H, W) float32 clean occupancy.
            sample_ids (Sequence, optional): B sample identities.
            iteration (int, optional): Training iteration.

        Returns:
            tuple[Tensor, Tensor]: (B * num_draws,) long timesteps and
            (B * num_draws, K, H, W) float32 noise, sample-major.
        """
        batch_size, draws = x0.shape[0], self.num_draws
        shape = (batch_size * draws, ) + tuple(x0.shape[1:])
        num_steps = self.num_train_timesteps
        if not self.noise_per_sample:
            noise = torch.randn(shape, device=x0.device)
            timesteps = torch.randint(
                0, num_steps, (shape[0], ), device=x0.device)
            return timesteps, noise
        if iteration is None:
            iteration = self._implicit_iteration()
        keys = self.sample_keys(x0, sample_ids)
        timesteps = torch.empty(shape[0], dtype=torch.long, device=x0.device)
        noise = torch.empty(shape, dtype=torch.float32, device=x0.device)
        for b, key in enumerate(keys):
            gen = torch.Generator(device=x0.device)
            gen.manual_seed(sample_noise_seed(self.noise_seed, key, iteration))
            rows = slice(b * draws, (b + 1) * draws)
            timesteps[rows] = torch.randint(
                0, num_steps, (draws, ), generator=gen, device=x0.device)
            noise[rows] = torch.randn(
                (draws, ) + tuple(x0.shape[1:]),
                generator=gen,
                device=x0.device)
        return timesteps, noise

    def add_noise(self, x0: Tensor, noise: Tensor,
                  timesteps: Tensor) -> Tensor:
        """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise."""
        return self.scheduler.add_noise(x0, noise, timesteps)

    def target(self, x0: Tensor, noise: Tensor, timesteps: Tensor) -> Tensor:
        """What the denoiser should output for its ``prediction_type``."""
        if self.prediction_type == 'epsilon':
            return noise
        if self.prediction_type == 'v_prediction':
            return self.scheduler.get_velocity(x0, noise, timesteps)
        return x0

    def predict_x0(self, pred: Tensor, noisy: Tensor,
                   timesteps: Tensor) -> Tensor:
        """The clean-sample estimate x_hat_0 from a denoiser output.

        Args:
            pred (Tensor): (N, K, H, W) denoiser output.
            noisy (Tensor): (N, K, H, W) x_t.
            timesteps (Tensor): (N,) long.

        Returns:
            Tensor: (N, K, H, W) x_hat_0 (not clipped).
        """
        if self.prediction_type == 'sample':
            return pred
        alpha_bar = self.scheduler.alphas_cumprod.to(
            device=noisy.device,
            dtype=noisy.dtype)[timesteps].view(-1, *([1] * (noisy.ndim - 1)))
        sqrt_a, sqrt_1ma = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        if self.prediction_type == 'epsilon':
            return (noisy - sqrt_1ma * pred) / sqrt_a
        return sqrt_a * noisy - sqrt_1ma * pred

    def _implicit_iteration(self) -> str:
        """MessageHub's ``'iter'``; ``'<iter>+<n>'`` for the n-th further
        draw at the same (or no) ``'iter'``: outside a Runner it is missing
        or stale, and each call must still draw fresh noise."""
        current = MessageHub.get_current_instance().get_info('iter')
        if current is not None and current != self._noise_iter:
            repeat = 0
        else:
            repeat = self._noise_repeat + 1
        self._noise_iter, self._noise_repeat = current, repeat
        return str(current) if repeat == 0 else f'{current}+{repeat}'

    @staticmethod
    def sample_keys(x0: Tensor,
                    sample_ids: Optional[Sequence[Any]]) -> List[str]:
        """One noise key per sample: its id (None: a hash of its target),
        and its rank among equal keys of the batch, so that repeats of one
        example in a batch get different noise."""
        if sample_ids is None:
            sample_ids = [None] * x0.shape[0]
        elif len(sample_ids) != x0.shape[0]:
            raise ValueError(f'{len(sample_ids)} sample_ids for a batch of '
                             f'{x0.shape[0]}')
        keys, seen = [], {}
        for b, sample_id in enumerate(sample_ids):
            if isinstance(sample_id, Tensor):
                sample_id = sample_id.item()
            if sample_id is None:
                target = x0[b].detach().cpu().contiguous().numpy()
                sample_id = 'occ:' + hashlib.blake2b(
                    target.tobytes(), digest_size=16).hexdigest()
            key = str(sample_id)
            seen[key] = seen.get(key, -1) + 1
            keys.append(f'{key}#{seen[key]}')
        return keys
