# Copyright (c) HilDA authors. All rights reserved.
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from diffusers import DDPMScheduler, UNet2DModel
from mmdet3d.registry import MODELS
from mmdet3d.utils import OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...structures.bev_grid import bev_grid_shape
from ..utils import global_mean
from .bev_pooling import bev_pool, sample_bev_patch_mask
from .forward_diffusion import PREDICTION_TYPES, ForwardDiffusion
from .reverse_diffusion_sampler import ReverseDiffusionSampler


@MODELS.register_module()
class OccupancyDiffusionHead(BaseModule):
    """Conditional DDPM that denoises BEV occupancy from student features.

    Student features are mean- (or max-) pooled into the BEV grid of
    :func:`~projects.HilDA.hilda.datasets.transforms.bev_occupancy` and
    condition a diffusers ``UNet2DModel`` by channel concatenation with the
    noisy occupancy. The pieces:

    - :class:`~.ForwardDiffusion`: draws ``num_noise_draws`` (timestep,
      noise) pairs per sample, noises the target (diffusers
      ``DDPMScheduler.add_noise``), gives the regression target of the
      ``prediction_type`` and the clean-sample estimate x_hat_0;
    - the UNet (:meth:`forward`);
    - :class:`~.ReverseDiffusionSampler`: the DDIM/DDPM reverse loop
      (:meth:`sample`).

    Loss (the paper's, with ``prediction_type='epsilon'``)::

        L = loss_weight * (MSE(pred, eps) + x0_loss_weight
                           * MSE(x_hat_0, x_occ))

    ``'v_prediction'`` and ``'sample'`` replace the first term by the MSE
    of that parametrisation (the project's options). x_hat_0 is clipped to
    [-1, 1] (``clip_x0``) before its error is taken: from an epsilon
    prediction near t = T the error of x_hat_0 is that of epsilon times
    sqrt((1 - alpha_bar) / alpha_bar), over 100 with the linear schedule,
    so unclipped the second term would be dominated by the noisiest draws,
    the opposite of the paper's "helps at low noise".

    The BEV condition is built once per sample and repeated for its
    ``num_noise_draws`` draws: the UNet is a small share of a step, the
    student a large one, so more draws give the student more gradient
    signal per step for little cost.

    Modes:

    - ``'temporal'``: the condition is ``[BEV(t-1), BEV(t0)]`` (2C
      channels), the target the t+1 occupancy (``BEVOccupancyTarget(
      source_key='points_next')``). Samples at a scene's first or last
      keyframe (the dataset flags ``temporal_fallback``: t0 stands in for
      t-1 or t+1) are not sequences: they are left out of the loss and the
      valid ones are counted (``diff_valid`` in the log, this rank's).
    - ``'masked'``: the condition is ``[BEV(t0), bev_mask]`` (C + 1
      channels), where the points of random BEV patches were dropped from
      t0 *before the student ran* (see :meth:`sample_bev_patch_mask`); the
      target is the t0 occupancy (``BEVOccupancyTarget(source_key=
      'points')``). The noisy occupancy is zeroed outside the masked cells
      and the loss averages over masked cells only.

    Noise: see :class:`~.ForwardDiffusion` (per-sample generators keyed by
    the sample's identity and the iteration, so DDP and resumed runs draw
    what one uninterrupted process draws). The identity is the
    ``sample_ids`` given to :meth:`loss`, else the ``token`` (or
    ``sample_idx``) of its ``data_samples``, else a hash of the sample's
    target occupancy. ``'masked'`` mode's patch mask always comes from the
    global RNG.

    Reduction: a mean over the occupancy cells (``'masked'``: the masked
    cells) of all valid samples and draws of all ranks
    (:func:`~projects.HilDA.hilda.models.utils.global_mean`).

    Precision: the noise, ``add_noise``, the reverse-process updates and the
    loss are computed in float32 even under autocast; only the UNet and the
    conditioning convolution run in the autocast dtype.

    Args:
        in_channels (int): Channels C of the student features (per scan).
        point_cloud_range (Sequence[float]): BEV extent [x_min, y_min,
            z_min, x_max, y_max, z_max] (m); must equal the target's.
        cell_size (float): BEV cell edge (m); must equal the target's.
        num_height_bins (int): Occupancy channels K; must equal the
            target's. 1 is the paper's binary BEV occupancy.
        mode (str): ``'temporal'`` (paper) or ``'masked'``.
        pool_reduce (str): ``'mean'`` or ``'max'`` BEV pooling.
        cond_channels (int, optional): Width of the conv that maps the
            concatenated pooled features to the condition; None
            concatenates them as they are. Defaults to 64.
        block_out_channels (Sequence[int]): UNet widths, one per
            resolution; H and W must be divisible by
            ``2 ** (len(block_out_channels) - 1)``.
        layers_per_block (int): ResNet layers per UNet block.
        norm_num_groups (int): GroupNorm groups of the UNet.
        add_attention (bool): Self-attention in the UNet mid block.
        unet_cfg (dict, optional): Extra ``UNet2DModel`` kwargs (override).
        num_train_timesteps (int): Diffusion steps T.
        beta_schedule (str): diffusers beta schedule (``'linear'``,
            ``'scaled_linear'``, ``'squaredcos_cap_v2'``, ...). The paper
            does not publish its schedule; ``'linear'`` is DDPM's.
        prediction_type (str): ``'epsilon'`` (paper), ``'v_prediction'``
            or ``'sample'``.
        x0_loss_weight (float): lambda of the clean-occupancy term; 0
            leaves it out (epsilon-only ablation). Defaults to 1.0.
        clip_x0 (bool): Clip x_hat_0 to [-1, 1] in that term (see above).
            Defaults to True.
        num_noise_draws (int): (t, noise) draws per sample per step.
            Defaults to 1 (one per sample, DDPM's).
        scheduler_cfg (dict, optional): Extra ``DDPMScheduler`` kwargs.
            ``timestep_spacing`` defaults to ``'trailing'`` so that few-step
            sampling starts from pure noise at ``t = T - 1``.
        mask_patch_size (int): ``'masked'`` mode patch edge in cells.
        mask_ratio (float): ``'masked'`` mode fraction of patches masked.
        loss_weight (float): Multiplier of the returned losses.
        noise_per_sample (bool): Draw each sample's noise from its own
            generator. Defaults to True.
        noise_seed (int): Base seed of the per-sample noise.
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
                 num_height_bins: int = 1,
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
                 prediction_type: str = 'epsilon',
                 x0_loss_weight: float = 1.0,
                 clip_x0: bool = True,
                 num_noise_draws: int = 1,
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
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f'prediction_type must be one of '
                             f'{PREDICTION_TYPES}, got {prediction_type!r}')
        if x0_loss_weight < 0:
            raise ValueError(
                f'x0_loss_weight must be >= 0, got {x0_loss_weight}')
        self.in_channels = in_channels
        self.point_cloud_range = tuple(float(v) for v in point_cloud_range)
        self.cell_size = cell_size
        self.num_height_bins = num_height_bins
        self.mode = mode
        self.pool_reduce = pool_reduce
        self.mask_patch_size = mask_patch_size
        self.mask_ratio = mask_ratio
        self.loss_weight = loss_weight
        self.x0_loss_weight = float(x0_loss_weight)
        self.clip_x0 = clip_x0
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
            prediction_type=prediction_type,
            timestep_spacing='trailing')
        sched_kwargs.update(scheduler_cfg or {})
        # Not nn.Modules: they hold no parameters, only the beta schedule.
        self.scheduler = DDPMScheduler(**sched_kwargs)
        self.forward_diffusion = ForwardDiffusion(
            self.scheduler,
            num_draws=num_noise_draws,
            noise_per_sample=noise_per_sample,
            noise_seed=noise_seed)

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

    def loss(self,
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
             data_samples: Optional[Sequence[Any]] = None,
             valid: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Diffusion loss, weighted by ``loss_weight``.

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
                (e.g. their ``token``) for the per-sample noise.
            iteration (int, optional): Training iteration for the
                per-sample noise.
            data_samples (Sequence, optional): The batch's data samples:
                their metainfo ``token`` (else ``sample_idx``) are the
                sample ids when ``sample_ids`` is None, and their
                ``temporal_fallback`` flags the samples that are no
                sequence (``'temporal'`` mode).
            valid (Tensor, optional): (B,) bool, the samples that take part
                (``'temporal'`` mode); default: those without a
                ``temporal_fallback`` flag.

        Returns:
            dict[str, Tensor]: ``loss_diffusion`` (the prediction MSE),
            ``loss_diffusion_x0`` (lambda times the clean-occupancy MSE;
            absent when ``x0_loss_weight`` is 0), both times
            ``loss_weight``, and ``diff_valid`` (the number of samples of
            this rank in the loss; not a loss).
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
        if sample_ids is None and data_samples is not None:
            sample_ids = [
                next((s.metainfo[k]
                      for k in self.SAMPLE_ID_KEYS if k in s.metainfo), None)
                for s in data_samples
            ]
        valid = self.valid_samples(batch_size, data_samples, valid,
                                   occ_target.device)
        # Scheduler math in float32 (see class docstring).
        x0 = occ_target.float()
        diffusion = self.forward_diffusion
        draws = diffusion.num_draws
        timesteps, noise = diffusion.draw(x0, sample_ids, iteration)
        # The condition is computed once and repeated for every draw.
        x0 = x0.repeat_interleave(draws, 0)
        cond = cond.repeat_interleave(draws, 0)
        if self.mode == 'masked':
            bev_mask = bev_mask.repeat_interleave(draws, 0)
            weight = bev_mask.float()
        else:
            # Samples without a sequence are weighted 0, not removed: the
            # UNet still runs on them so every rank uses every parameter.
            weight = valid.float().repeat_interleave(draws).view(-1, 1, 1, 1)
        noisy = diffusion.add_noise(x0, noise, timesteps)
        pred = self(noisy, timesteps, cond, bev_mask)
        target = diffusion.target(x0, noise, timesteps)
        sums = [((pred - target).square() * weight).sum()]
        if self.x0_loss_weight:
            x0_hat = diffusion.predict_x0(pred, noisy, timesteps)
            if self.clip_x0:
                x0_hat = x0_hat.clamp(-1, 1)
            sums.append(((x0_hat - x0).square() * weight).sum())
        count = weight.expand_as(pred).sum()
        means = global_mean(sums, count)
        losses = dict(loss_diffusion=means[0] * self.loss_weight)
        if self.x0_loss_weight:
            losses['loss_diffusion_x0'] = (
                means[1] * self.x0_loss_weight * self.loss_weight)
        losses['diff_valid'] = valid.sum().float()
        return losses

    def valid_samples(self,
                      batch_size: int,
                      data_samples: Optional[Sequence[Any]] = None,
                      valid: Optional[Tensor] = None,
                      device=None) -> Tensor:
        """(B,) bool: the samples that take part in the loss.

        ``'masked'`` mode needs no sequence: all. ``'temporal'`` mode:
        ``valid`` if given, else the samples whose metainfo
        ``temporal_fallback`` (prev, next) has no True (a sample without
        the key counts as a sequence).
        """
        if valid is not None:
            valid = torch.as_tensor(valid, dtype=torch.bool, device=device)
            if valid.shape != (batch_size, ):
                raise ValueError(f'valid has shape {tuple(valid.shape)}, '
                                 f'expected ({batch_size},)')
            return valid if self.mode == 'temporal' else torch.ones_like(valid)
        flags = [True] * batch_size
        if self.mode == 'temporal' and data_samples is not None:
            flags = [
                not bool(
                    torch.as_tensor(
                        s.metainfo.get('temporal_fallback', False)).any())
                for s in data_samples
            ]
        return torch.tensor(flags, dtype=torch.bool, device=device)

    def draw_noise(self,
                   x0: Tensor,
                   sample_ids: Optional[Sequence[Any]] = None,
                   iteration: Optional[int] = None) -> Tuple[Tensor, Tensor]:
        """The timesteps and noise of one step; see
        :meth:`ForwardDiffusion.draw`."""
        return self.forward_diffusion.draw(x0, sample_ids, iteration)

    def predict_x0(self, noisy: Tensor, timesteps: Tensor,
                   cond: Tensor) -> Tensor:
        """The denoiser's clean-sample estimate x_hat_0 (clipped to
        [-1, 1]) of ``noisy`` at ``timesteps`` under ``cond``."""
        pred = self(noisy, timesteps, cond)
        return self.forward_diffusion.predict_x0(pred, noisy.float(),
                                                 timesteps).clamp(-1, 1)

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
        """Generate occupancy by the reverse diffusion process
        (:class:`~.ReverseDiffusionSampler`).

        Give either ``cond`` (from :meth:`build_condition`) or the feature
        inputs of :meth:`loss`.

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
            scheduler (str): ``'ddim'`` or ``'ddpm'``.
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
        sampler = ReverseDiffusionSampler(
            self.scheduler.config,
            scheduler=scheduler,
            num_inference_steps=num_inference_steps,
            eta=eta)
        shape = (cond.shape[0], self.num_height_bins) + self.grid_shape
        sample = sampler(
            lambda x, t: self(x, t, cond, bev_mask),
            shape,
            cond.device,
            generator=generator)
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
