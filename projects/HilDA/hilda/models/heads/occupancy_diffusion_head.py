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
from .diffusion_modes import (DEFAULT_DIFFUSION_MODE, DIFFUSION_MODES,
                              build_diffusion_mode)
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
                           * mean_t w(t) * MSE(x_hat_0, x_occ))

    ``'v_prediction'`` and ``'sample'`` replace the first term by the MSE
    of that parametrisation (the project's options). The paper does not
    publish how the clean-occupancy term is weighted over the timesteps;
    it says the term helps at low noise. For an epsilon prediction
    ``x_hat_0 - x_occ = -sqrt((1 - a_t) / a_t) (pred - eps)`` (``a_t`` =
    ``alphas_cumprod[t]`` of the diffusers scheduler), so the term is the
    epsilon MSE times ``w(t) (1 - a_t) / a_t``: unweighted (``'none'``) it
    is over 1,000 times the epsilon term on average and nearly all of its
    gradient comes from t > 600. ``x0_weighting`` sets w(t):

    - ``'low_noise'`` (default): ``w = a_t * SNR_t = a_t^2 / (1 - a_t)``;
      the term becomes ``a_t`` times the epsilon MSE: never larger than
      the epsilon term, largest at low noise (linear betas, T = 1000: 94 %
      of its squared gradient from t < 300);
    - ``'alpha_bar'``: ``w = a_t`` (bounded by the epsilon term, but 95 %
      of its squared gradient still from t >= 300);
    - ``'min_snr'``: ``w = min(SNR_t, x0_snr_gamma)`` (min-SNR-gamma,
      Hang et al. 2023);
    - ``'none'``: ``w = 1``, the formula as printed.

    x_hat_0 is not clipped in the loss (a clip to [-1, 1] makes the term
    one-sided: with about 96 % empty cells at -1 it pulls a constant
    epsilon bias away from 0); sampling clips (:meth:`predict_x0`,
    :meth:`sample`). ``clip_x0=True`` restores the clipped form.

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
        mode (str): ``'temporal'`` (paper) or ``'masked'``: a
            :class:`~.diffusion_modes.DiffusionMode`, held as
            ``diffusion_mode`` (``mode`` keeps the name).
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
        x0_weighting (str): w(t) of that term (see above): ``'low_noise'``
            (default), ``'alpha_bar'``, ``'min_snr'`` or ``'none'``.
        x0_snr_gamma (float): gamma of ``'min_snr'``. Defaults to 5.0.
        clip_x0 (bool): Clip x_hat_0 to [-1, 1] inside the loss (biased,
            see above). Defaults to False.
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

    MODES = tuple(DIFFUSION_MODES)
    X0_WEIGHTINGS = ('low_noise', 'alpha_bar', 'min_snr', 'none')
    # Metainfo keys that identify a data sample (first found wins).
    SAMPLE_ID_KEYS = ('token', 'sample_idx')

    def __init__(self,
                 in_channels: int,
                 point_cloud_range: Sequence[float] = (-51.2, -51.2, -5.0,
                                                       51.2, 51.2, 3.0),
                 cell_size: float = 0.8,
                 num_height_bins: int = 1,
                 mode: str = DEFAULT_DIFFUSION_MODE,
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
                 x0_weighting: str = 'low_noise',
                 x0_snr_gamma: float = 5.0,
                 clip_x0: bool = False,
                 num_noise_draws: int = 1,
                 scheduler_cfg: OptConfigType = None,
                 mask_patch_size: int = 4,
                 mask_ratio: float = 0.3,
                 loss_weight: float = 1.0,
                 noise_per_sample: bool = True,
                 noise_seed: int = 0,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.diffusion_mode = build_diffusion_mode(mode)
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
        if x0_weighting not in self.X0_WEIGHTINGS:
            raise ValueError(f'x0_weighting must be one of '
                             f'{self.X0_WEIGHTINGS}, got {x0_weighting!r}')
        if x0_snr_gamma <= 0:
            raise ValueError(f'x0_snr_gamma must be > 0, got {x0_snr_gamma}')
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
        self.x0_weighting = x0_weighting
        self.x0_snr_gamma = float(x0_snr_gamma)
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

        raw_channels = self.diffusion_mode.condition_channels(in_channels)
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
        raw = self.diffusion_mode.raw_condition(self.pool, bev_t0, batch_size,
                                                self.grid_shape, feats_prev,
                                                xyz_prev, batch_prev, bev_mask)
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
        noisy = self.diffusion_mode.denoiser_input(noisy, bev_mask)
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
        if bev_mask is not None:
            bev_mask = bev_mask.repeat_interleave(draws, 0)
        weight = self.diffusion_mode.cell_weight(
            valid.repeat_interleave(draws), bev_mask)
        noisy = diffusion.add_noise(x0, noise, timesteps)
        pred = self(noisy, timesteps, cond, bev_mask)
        target = diffusion.target(x0, noise, timesteps)
        sums = [((pred - target).square() * weight).sum()]
        if self.x0_loss_weight:
            x0_hat = diffusion.predict_x0(pred, noisy, timesteps)
            if self.clip_x0:
                x0_hat = x0_hat.clamp(-1, 1)
            per_t = self.x0_weight(timesteps).view(-1, 1, 1, 1)
            sums.append(((x0_hat - x0).square() * weight * per_t).sum())
        count = weight.expand_as(pred).sum()
        means = global_mean(sums, count)
        losses = dict(loss_diffusion=means[0] * self.loss_weight)
        if self.x0_loss_weight:
            losses['loss_diffusion_x0'] = (
                means[1] * self.x0_loss_weight * self.loss_weight)
        losses['diff_valid'] = valid.sum().float()
        return losses

    def x0_weight(self, timesteps: Tensor) -> Tensor:
        """w(t) of the clean-occupancy term (``x0_weighting``), from the
        scheduler's ``alphas_cumprod``.

        Args:
            timesteps (Tensor): (N,) long.

        Returns:
            Tensor: (N,) float32.
        """
        alpha_bar = self.scheduler.alphas_cumprod.to(timesteps.device,
                                                     torch.float32)[timesteps]
        if self.x0_weighting == 'none':
            return torch.ones_like(alpha_bar)
        if self.x0_weighting == 'alpha_bar':
            return alpha_bar
        snr = alpha_bar / (1 - alpha_bar)
        if self.x0_weighting == 'min_snr':
            return snr.clamp(max=self.x0_snr_gamma)
        return alpha_bar * snr

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
        return self.diffusion_mode.valid_samples(batch_size, data_samples,
                                                 valid, device)

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
        return self.diffusion_mode.output(sample, bev_mask)
