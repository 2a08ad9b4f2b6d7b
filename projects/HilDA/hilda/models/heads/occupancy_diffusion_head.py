# Copyright (c) HilDA authors. All rights reserved.
import hashlib
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from diffusers.utils.torch_utils import randn_tensor
from mmdet3d.registry import MODELS
from mmdet3d.utils import OptConfigType, OptMultiConfig
from mmengine.logging import MessageHub
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..utils import global_mean
from .bev_pooling import bev_grid_shape, bev_pool, sample_bev_patch_mask


def sample_noise_seed(seed: int, sample_key: Any, iteration: Any) -> int:
    """Seed of one sample's diffusion noise at one training iteration.

    A hash (not Python's ``hash``, which changes between processes) of
    ``(seed, sample_key, iteration)``, in ``[0, 2**63)``.
    """
    text = f'{int(seed)}|{sample_key}|{iteration}'
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, 'little') >> 1


@MODELS.register_module()
class OccupancyDiffusionHead(BaseModule):
    """Conditional DDPM that denoises BEV occupancy from student features.

    Student features are mean- (or max-) pooled into the BEV grid of
    :func:`~projects.HilDA.hilda.datasets.transforms.bev_occupancy` and
    condition a diffusers ``UNet2DModel`` by channel concatenation with the
    noisy occupancy. Training is standard DDPM: a timestep per sample,
    ``DDPMScheduler.add_noise``, epsilon prediction, MSE.

    Modes:

    - ``'temporal'``: the condition is ``[BEV(t-1), BEV(t0)]`` (2C
      channels), the target the t+1 occupancy (``BEVOccupancyTarget(
      source_key='points_next')``).
    - ``'masked'``: the condition is ``[BEV(t0), bev_mask]`` (C + 1
      channels), where the points of random BEV patches were dropped from
      t0 *before the student ran* (see :meth:`sample_bev_patch_mask`); the
      target is the t0 occupancy (``BEVOccupancyTarget(source_key=
      'points')``). The noisy occupancy is zeroed outside the masked cells
      and the loss averages over masked cells only, so the target outside
      the masked patches has no influence at all (it would otherwise leak
      through the UNet's receptive field).

    Noise: with ``noise_per_sample=True`` (default) each sample's timestep
    and noise come from its own ``torch.Generator``, seeded from
    ``(noise_seed, the sample's identity, the training iteration)`` (see
    :meth:`draw_noise`). A sample then gets the same noise whichever rank
    and batch position it lands in, so a DDP run matches one process with
    the combined batch, and a resumed run draws what the uninterrupted one
    drew. The identity is the ``sample_ids`` given to :meth:`loss`, else
    the ``token`` (or ``sample_idx``) of its ``data_samples``, else a hash
    of the sample's target occupancy; the iteration is ``iteration``, else
    mmengine's ``MessageHub`` ``'iter'`` (set by ``RuntimeInfoHook``).
    ``noise_per_sample=False`` draws everything from torch's global RNG
    (seeded by mmengine's ``randomness``), which depends on the rank layout
    and the batch position. ``'masked'`` mode's patch mask
    (:meth:`sample_bev_patch_mask`) always comes from the global RNG.

    Reduction: the loss is a mean over the occupancy cells (``'masked'``:
    the masked cells) of all samples of all ranks
    (:func:`~projects.HilDA.hilda.models.utils.global_mean`), so that DDP's
    gradient average equals one process's gradient on the whole batch.

    Precision: the noise, ``add_noise``, the reverse-process updates and the
    loss are computed in float32 even under autocast (the small
    ``1 - alpha_bar`` values lose too much in float16); only the UNet and
    the conditioning convolution run in the autocast dtype.

    Args:
        in_channels (int): Channels C of the student features (per scan).
        point_cloud_range (Sequence[float]): BEV extent [x_min, y_min,
            z_min, x_max, y_max, z_max] (m); must equal the target's.
        cell_size (float): BEV cell edge (m); must equal the target's.
        num_height_bins (int): Occupancy channels K; must equal the
            target's.
        mode (str): ``'temporal'`` or ``'masked'``.
        pool_reduce (str): ``'mean'`` or ``'max'`` BEV pooling.
        cond_channels (int, optional): Width of the conv that maps the
            pooled features to the condition; None concatenates the pooled
            features as they are. Defaults to 64.
        block_out_channels (Sequence[int]): UNet widths, one per
            resolution; H and W must be divisible by
            ``2 ** (len(block_out_channels) - 1)``.
        layers_per_block (int): ResNet layers per UNet block.
        norm_num_groups (int): GroupNorm groups of the UNet; must divide
            every entry of ``block_out_channels``.
        add_attention (bool): Self-attention in the UNet mid block. Off by
            default: at 64x64 cells it needs GBs per sample.
        unet_cfg (dict, optional): Extra ``UNet2DModel`` kwargs (override).
        num_train_timesteps (int): Diffusion steps T.
        beta_schedule (str): diffusers beta schedule name.
        scheduler_cfg (dict, optional): Extra ``DDPMScheduler`` kwargs.
            ``timestep_spacing`` defaults to ``'trailing'`` so that few-step
            sampling starts from pure noise at ``t = T - 1``.
        mask_patch_size (int): ``'masked'`` mode patch edge in cells.
        mask_ratio (float): ``'masked'`` mode fraction of patches masked.
        loss_weight (float): Multiplier of the loss.
        noise_per_sample (bool): Draw each sample's timestep and noise from
            its own generator (see above). Defaults to True.
        noise_seed (int): Base seed of the per-sample noise; change it for
            a different noise stream (mmengine's ``randomness.seed`` does
            not reach it). Defaults to 0.
        init_cfg (dict or list[dict], optional): Initialisation config.
    """

    MODES = ('temporal', 'masked')
    # Metainfo keys that identify a data sample (first found wins).
    SAMPLE_ID_KEYS = ('token', 'sample_idx')

    def __init__(self,
                 in_channels: int,
                 point_cloud_range: Sequence[float] = (-51.2, -51.2, -5.0,
                                                       51.2, 51.2, 3.0),
                 cell_size: float = 0.8,
                 num_height_bins: int = 8,
                 mode: str = 'temporal',
                 pool_reduce: str = 'mean',
                 cond_channels: Optional[int] = 64,
                 block_out_channels: Sequence[int] = (32, 64),
                 layers_per_block: int = 1,
                 norm_num_groups: int = 8,
                 add_attention: bool = False,
                 unet_cfg: OptConfigType = None,
                 num_train_timesteps: int = 1000,
                 beta_schedule: str = 'linear',
                 scheduler_cfg: OptConfigType = None,
                 mask_patch_size: int = 4,
                 mask_ratio: float = 0.3,
                 loss_weight: float = 1.0,
                 noise_per_sample: bool = True,
                 noise_seed: int = 0,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}, got {mode!r}')
        if pool_reduce not in ('mean', 'max'):
            raise ValueError(
                f"pool_reduce must be 'mean' or 'max', got {pool_reduce!r}")
        if len(point_cloud_range) != 6:
            raise ValueError('point_cloud_range must have 6 values, got '
                             f'{point_cloud_range}')
        self.in_channels = in_channels
        self.point_cloud_range = tuple(float(v) for v in point_cloud_range)
        self.cell_size = cell_size
        self.num_height_bins = num_height_bins
        self.mode = mode
        self.pool_reduce = pool_reduce
        self.mask_patch_size = mask_patch_size
        self.mask_ratio = mask_ratio
        self.loss_weight = loss_weight
        self.noise_per_sample = noise_per_sample
        self.noise_seed = int(noise_seed)
        # MessageHub's 'iter' at the last draw and the draws since at it.
        self._noise_iter = None
        self._noise_repeat = 0
        self.grid_shape = bev_grid_shape(self.point_cloud_range, cell_size)

        block_out_channels = tuple(block_out_channels)
        factor = 2**(len(block_out_channels) - 1)
        height, width = self.grid_shape
        if height % factor or width % factor:
            raise ValueError(
                f'The BEV grid {height}x{width} (H x W, from '
                f'point_cloud_range={self.point_cloud_range} and cell_size='
                f'{cell_size}) must be divisible by {factor} = 2 ** '
                f'(len(block_out_channels) - 1) for the UNet with '
                f'block_out_channels={block_out_channels}; change the range, '
                'the cell size or the number of UNet blocks.')

        raw_channels = in_channels * 2 if mode == 'temporal' else \
            in_channels + 1
        if cond_channels is None:
            self.cond_conv = nn.Identity()
            cond_channels = raw_channels
        else:
            self.cond_conv = nn.Sequential(
                nn.Conv2d(raw_channels, cond_channels, 3, padding=1),
                nn.SiLU(), nn.Conv2d(cond_channels, cond_channels, 1))
        self.cond_channels = cond_channels

        unet_kwargs = dict(
            sample_size=self.grid_shape,
            in_channels=num_height_bins + cond_channels,
            out_channels=num_height_bins,
            block_out_channels=block_out_channels,
            down_block_types=('DownBlock2D', ) * len(block_out_channels),
            up_block_types=('UpBlock2D', ) * len(block_out_channels),
            layers_per_block=layers_per_block,
            norm_num_groups=norm_num_groups,
            add_attention=add_attention)
        unet_kwargs.update(unet_cfg or {})
        self.unet = UNet2DModel(**unet_kwargs)

        sched_kwargs = dict(
            num_train_timesteps=num_train_timesteps,
            beta_schedule=beta_schedule,
            prediction_type='epsilon',
            timestep_spacing='trailing')
        sched_kwargs.update(scheduler_cfg or {})
        if sched_kwargs['prediction_type'] != 'epsilon':
            raise ValueError('Only prediction_type="epsilon" is supported.')
        # Not an nn.Module: holds no parameters, only the beta schedule.
        self.scheduler = DDPMScheduler(**sched_kwargs)

    # BEV features ----------------------------------------------------------

    def pool(self, feats: Tensor, xyz: Tensor, batch: Tensor,
             batch_size: int) -> Tensor:
        """Pool one scan's features into the BEV grid.

        Args:
            feats (Tensor): (N, C) features.
            xyz (Tensor): (N, 3) coordinates in the t0 frame (m).
            batch (Tensor): (N,) long sample index.
            batch_size (int): Number of samples B.

        Returns:
            Tensor: (B, C, H, W) float32.
        """
        return bev_pool(feats, xyz, batch, batch_size, self.point_cloud_range,
                        self.cell_size, self.pool_reduce)

    def sample_bev_patch_mask(self, xyz: Tensor, batch: Tensor,
                              batch_size: int) -> Tuple[Tensor, Tensor]:
        """``'masked'`` mode: choose the BEV patches to hide from the student.

        Call it on the raw t0 points before the student runs, feed the
        student only ``points[keep]`` and pass ``bev_mask`` to :meth:`loss`.
        See :func:`~.bev_pooling.sample_bev_patch_mask`.

        Args:
            xyz (Tensor): (N, >=3) t0 points (m).
            batch (Tensor): (N,) long sample index.
            batch_size (int): Number of samples B.

        Returns:
            tuple[Tensor, Tensor]: ``keep`` (N,) bool and ``bev_mask``
            (B, 1, H, W) float32 (1 = masked cell).
        """
        return sample_bev_patch_mask(xyz, batch, batch_size,
                                     self.point_cloud_range, self.cell_size,
                                     self.mask_patch_size, self.mask_ratio)

    def build_condition(self,
                        feats_t0: Tensor,
                        xyz_t0: Tensor,
                        batch_t0: Tensor,
                        batch_size: int,
                        feats_prev: Optional[Tensor] = None,
                        xyz_prev: Optional[Tensor] = None,
                        batch_prev: Optional[Tensor] = None,
                        bev_mask: Optional[Tensor] = None) -> Tensor:
        """The UNet's conditioning map.

        Args:
            feats_t0 (Tensor): (N0, C) t0 features (in ``'masked'`` mode,
                of the kept points only).
            xyz_t0 (Tensor): (N0, 3) their coordinates (m).
            batch_t0 (Tensor): (N0,) long sample index.
            batch_size (int): Number of samples B.
            feats_prev (Tensor, optional): (N1, C) t-1 features
                (``'temporal'`` mode).
            xyz_prev (Tensor, optional): (N1, 3) t-1 coordinates in the t0
                frame (m).
            batch_prev (Tensor, optional): (N1,) long sample index.
            bev_mask (Tensor, optional): (B, 1, H, W) masked cells
                (``'masked'`` mode).

        Returns:
            Tensor: (B, cond_channels, H, W).
        """
        bev_t0 = self.pool(feats_t0, xyz_t0, batch_t0, batch_size)
        if self.mode == 'temporal':
            if feats_prev is None or xyz_prev is None or batch_prev is None:
                raise ValueError("mode='temporal' needs the t-1 features, "
                                 'coordinates and batch indices.')
            bev_prev = self.pool(feats_prev, xyz_prev, batch_prev, batch_size)
            raw = torch.cat([bev_prev, bev_t0], dim=1)
        else:
            self._check_mask(bev_mask, batch_size)
            raw = torch.cat([bev_t0, bev_mask.to(bev_t0.dtype)], dim=1)
        return self.cond_conv(raw)

    # Denoiser ---------------------------------------------------------------

    def forward(self,
                noisy: Tensor,
                timesteps: Tensor,
                cond: Tensor,
                bev_mask: Optional[Tensor] = None) -> Tensor:
        """Predict the noise of ``noisy`` at ``timesteps``.

        Args:
            noisy (Tensor): (B, K, H, W) noisy occupancy x_t.
            timesteps (Tensor): (B,) long timesteps.
            cond (Tensor): (B, cond_channels, H, W) from
                :meth:`build_condition`.
            bev_mask (Tensor, optional): (B, 1, H, W); ``'masked'`` mode
                zeroes x_t outside the masked cells.

        Returns:
            Tensor: (B, K, H, W) float32 predicted epsilon.
        """
        if self.mode == 'masked':
            self._check_mask(bev_mask, noisy.shape[0])
            noisy = noisy * bev_mask.to(noisy.dtype)
        x = torch.cat([noisy, cond.to(noisy.dtype)], dim=1)
        return self.unet(x, timesteps).sample.float()

    def loss(
            self,
            feats_prev: Optional[Tensor],
            xyz_prev: Optional[Tensor],
            batch_prev: Optional[Tensor],
            feats_t0: Tensor,
            xyz_t0: Tensor,
            batch_t0: Tensor,
            occ_target: Tensor,
            bev_mask: Optional[Tensor] = None,
            sample_ids: Optional[Sequence[Any]] = None,
            iteration: Optional[int] = None,
            data_samples: Optional[Sequence[Any]] = None) -> Dict[str, Tensor]:
        """DDPM epsilon-prediction loss.

        Args:
            feats_prev (Tensor, optional): (N1, C) t-1 features; None in
                ``'masked'`` mode.
            xyz_prev (Tensor, optional): (N1, 3) t-1 coordinates in the t0
                frame (m); None in ``'masked'`` mode.
            batch_prev (Tensor, optional): (N1,) long sample index; None in
                ``'masked'`` mode.
            feats_t0 (Tensor): (N0, C) t0 features.
            xyz_t0 (Tensor): (N0, 3) t0 coordinates (m).
            batch_t0 (Tensor): (N0,) long sample index.
            occ_target (Tensor): (B, K, H, W) occupancy in {-1, 1} (t+1 in
                ``'temporal'`` mode, t0 in ``'masked'`` mode).
            bev_mask (Tensor, optional): (B, 1, H, W) from
                :meth:`sample_bev_patch_mask`; required in ``'masked'`` mode.
            sample_ids (Sequence, optional): B identities of the samples
                (e.g. their ``token``) for the per-sample noise; see
                :meth:`draw_noise`.
            iteration (int, optional): Training iteration for the
                per-sample noise; see :meth:`draw_noise`.
            data_samples (Sequence, optional): The batch's data samples;
                when ``sample_ids`` is None, their metainfo ``token`` (else
                ``sample_idx``) are the sample ids.

        Returns:
            dict[str, Tensor]: ``loss_diffusion``.
        """
        batch_size = occ_target.shape[0]
        expected = (self.num_height_bins, ) + self.grid_shape
        if tuple(occ_target.shape[1:]) != expected:
            raise ValueError(
                f'occ_target has shape {tuple(occ_target.shape)}, expected '
                f'(B, {", ".join(map(str, expected))}); the head and '
                'BEVOccupancyTarget must share point_cloud_range, cell_size '
                'and num_height_bins.')
        cond = self.build_condition(feats_t0, xyz_t0, batch_t0, batch_size,
                                    feats_prev, xyz_prev, batch_prev, bev_mask)
        # Scheduler math in float32 (see class docstring).
        x0 = occ_target.float()
        if sample_ids is None and data_samples is not None:
            sample_ids = [
                next((s.metainfo[k]
                      for k in self.SAMPLE_ID_KEYS if k in s.metainfo), None)
                for s in data_samples
            ]
        timesteps, noise = self.draw_noise(x0, sample_ids, iteration)
        noisy = self.scheduler.add_noise(x0, noise, timesteps)
        pred = self(noisy, timesteps, cond, bev_mask)
        if self.mode == 'temporal':
            total = (pred - noise).square().sum()
            count = pred.numel()
        else:
            weight = bev_mask.float()
            total = ((pred - noise).square() * weight).sum()
            count = weight.sum() * self.num_height_bins
        loss = global_mean([total], count)[0]
        return dict(loss_diffusion=loss * self.loss_weight)

    def draw_noise(self,
                   x0: Tensor,
                   sample_ids: Optional[Sequence[Any]] = None,
                   iteration: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """The timesteps and the noise of one training step.

        With ``noise_per_sample``, sample ``b`` draws its timestep, then its
        noise, from a generator on ``x0``'s device seeded by
        :func:`sample_noise_seed` from ``noise_seed``, its key and the
        iteration, so they depend on nothing else in the batch. Its key is
        ``sample_ids[b]`` if given (not None), else a hash of ``x0[b]``,
        and its rank among the equal keys of the batch. The iteration is
        ``iteration`` if given, else mmengine's ``MessageHub`` ``'iter'``
        (restored on resume); a further draw at the same ``'iter'`` (no
        Runner, or a stale ``'iter'``) counts as a new iteration. Without
        ``noise_per_sample`` both come from torch's global RNG.

        Args:
            x0 (Tensor): (B, K, H, W) float32 clean occupancy.
            sample_ids (Sequence, optional): B sample identities (str,
                int or None).
            iteration (int, optional): Training iteration.

        Returns:
            tuple[Tensor, Tensor]: (B,) long timesteps and (B, K, H, W)
            float32 noise.
        """
        batch_size = x0.shape[0]
        num_steps = self.scheduler.config.num_train_timesteps
        if not self.noise_per_sample:
            # torch's global RNG, so that mmengine's seed makes runs
            # reproducible.
            noise = torch.randn(x0.shape, device=x0.device)
            timesteps = torch.randint(
                0, num_steps, (batch_size, ), device=x0.device)
            return timesteps, noise
        if iteration is None:
            iteration = self._implicit_iteration()
        keys = self._sample_keys(x0, sample_ids)
        timesteps = torch.empty(batch_size, dtype=torch.long, device=x0.device)
        noise = torch.empty(x0.shape, dtype=torch.float32, device=x0.device)
        for b, key in enumerate(keys):
            gen = torch.Generator(device=x0.device)
            gen.manual_seed(sample_noise_seed(self.noise_seed, key, iteration))
            timesteps[b] = torch.randint(
                0, num_steps, (1, ), generator=gen, device=x0.device)[0]
            noise[b] = torch.randn(
                x0.shape[1:], generator=gen, device=x0.device)
        return timesteps, noise

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
    def _sample_keys(x0: Tensor,
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

    @torch.no_grad()
    def sample(self,
               cond: Optional[Tensor] = None,
               *,
               feats_prev: Optional[Tensor] = None,
               xyz_prev: Optional[Tensor] = None,
               batch_prev: Optional[Tensor] = None,
               feats_t0: Optional[Tensor] = None,
               xyz_t0: Optional[Tensor] = None,
               batch_t0: Optional[Tensor] = None,
               batch_size: Optional[int] = None,
               bev_mask: Optional[Tensor] = None,
               num_inference_steps: int = 50,
               scheduler: str = 'ddim',
               eta: float = 0.0,
               generator: Optional[torch.Generator] = None) -> Tensor:
        """Generate occupancy by the reverse diffusion process.

        Give either ``cond`` (from :meth:`build_condition`) or the feature
        inputs of :meth:`loss`. The schedulers are fresh copies built from
        the training scheduler's config, so sampling leaves training alone.

        Args:
            cond (Tensor, optional): (B, cond_channels, H, W) condition.
            feats_prev, xyz_prev, batch_prev, feats_t0, xyz_t0, batch_t0
                (Tensor, optional): As in :meth:`loss`, used when ``cond``
                is None.
            batch_size (int, optional): B when building ``cond``; defaults
                to ``batch_t0.max() + 1``.
            bev_mask (Tensor, optional): (B, 1, H, W); required in
                ``'masked'`` mode.
            num_inference_steps (int): Reverse steps. Defaults to 50.
            scheduler (str): ``'ddim'`` (deterministic for ``eta=0``) or
                ``'ddpm'`` (ancestral).
            eta (float): DDIM noise scale. Defaults to 0.
            generator (torch.Generator, optional): RNG for the initial and
                the per-step noise; torch's global RNG when None.

        Returns:
            Tensor: (B, K, H, W) float32 occupancy in [-1, 1]. In
            ``'masked'`` mode only the masked cells are predicted; the
            others are 0 (unknown).
        """
        if cond is None:
            if batch_size is None:
                batch_size = int(batch_t0.max()) + 1 if batch_t0.numel() \
                    else 1
            cond = self.build_condition(feats_t0, xyz_t0, batch_t0, batch_size,
                                        feats_prev, xyz_prev, batch_prev,
                                        bev_mask)
        batch_size = cond.shape[0]
        if scheduler == 'ddim':
            sched = DDIMScheduler.from_config(self.scheduler.config)
            step_kwargs = dict(eta=eta)
        elif scheduler == 'ddpm':
            sched = DDPMScheduler.from_config(self.scheduler.config)
            step_kwargs = dict()
        else:
            raise ValueError(
                f"scheduler must be 'ddim' or 'ddpm', got {scheduler!r}")
        sched.set_timesteps(num_inference_steps, device=cond.device)
        sample = randn_tensor(
            (batch_size, self.num_height_bins) + self.grid_shape,
            generator=generator,
            device=cond.device,
            dtype=torch.float32)
        sample = sample * sched.init_noise_sigma
        for t in sched.timesteps:
            eps = self(sample, t.reshape(1).expand(batch_size), cond, bev_mask)
            sample = sched.step(
                eps.float(), t, sample, generator=generator,
                **step_kwargs).prev_sample
        sample = sample.clamp(-1, 1)
        if self.mode == 'masked':
            sample = sample * bev_mask.float()
        return sample

    def _check_mask(self, bev_mask: Optional[Tensor], batch_size: int) -> None:
        expected = (batch_size, 1) + self.grid_shape
        if bev_mask is None or tuple(bev_mask.shape) != expected:
            got = None if bev_mask is None else tuple(bev_mask.shape)
            raise ValueError(f"mode='masked' needs bev_mask of shape "
                             f'{expected} (from sample_bev_patch_mask), got '
                             f'{got}.')
