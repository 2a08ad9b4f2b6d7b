# Copyright (c) HilDA authors. All rights reserved.
from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from torch import Tensor

from ..utils import global_mean
from .occupancy_diffusion_head import OccupancyDiffusionHead


@MODELS.register_module()
class OccupancyDecoderHead(OccupancyDiffusionHead):
    """A plain occupancy decoder: the diffusion head's network, no noise.

    The ablation the paper sets against its diffusion objective (a "simple
    occupancy decoder", 49.1 vs 56.3 nuScenes linear-probe mIoU): the same
    BEV pooling, conditioning conv and ``UNet2DModel`` as
    :class:`OccupancyDiffusionHead`, so the same parameters and capacity,
    but the UNet reads the condition with a zero occupancy channel at
    timestep 0 and its output are the logits of the occupancy, trained with
    binary cross-entropy on the same target (``{-1, 1}`` mapped to
    ``{0, 1}``). A diffusion config switches to it by
    ``diffusion_head=dict(type='OccupancyDecoderHead')`` alone: it takes
    every argument of :class:`OccupancyDiffusionHead`; those of the noise
    process (``num_train_timesteps``, ``beta_schedule``,
    ``prediction_type``, ``x0_loss_weight``, ``x0_weighting``,
    ``x0_snr_gamma``, ``clip_x0``,
    ``num_noise_draws``, ``scheduler_cfg``, ``noise_per_sample``,
    ``noise_seed``) have no effect on its loss.

    Both modes work as in the diffusion head: ``'temporal'`` predicts the
    t+1 occupancy from ``[BEV(t-1), BEV(t0)]`` and leaves samples without a
    sequence out of the loss; ``'masked'`` predicts the t0 occupancy of the
    hidden patches and averages over them only.

    Loss::

        L = loss_weight * mean BCE(logits, (x_occ + 1) / 2)

    returned as ``loss_occupancy``, with ``diff_valid`` as in the diffusion
    head. Reduced over all ranks like it
    (:func:`~projects.HilDA.hilda.models.utils.global_mean`).
    """

    def decode(self,
               cond: Tensor,
               bev_mask: Optional[Tensor] = None) -> Tensor:
        """Occupancy logits from the condition.

        Args:
            cond (Tensor): (B, cond_channels, H, W) from
                :meth:`build_condition`.
            bev_mask (Tensor, optional): (B, 1, H, W); ``'masked'`` mode.

        Returns:
            Tensor: (B, K, H, W) float32 logits.
        """
        batch_size = cond.shape[0]
        # The channel the diffusion UNet reads x_t from: empty here, so the
        # decoder has exactly the diffusion head's parameters.
        empty = cond.new_zeros((batch_size, self.num_height_bins) +
                               self.grid_shape).float()
        timesteps = torch.zeros(
            batch_size, dtype=torch.long, device=cond.device)
        return self(empty, timesteps, cond, bev_mask)

    def loss(self,
             feats_prev: Optional[Tensor],
             xyz_prev: Optional[Tensor],
             batch_prev: Optional[Tensor],
             feats_t0: Tensor,
             xyz_t0: Tensor,
             batch_t0: Tensor,
             occ_target: Tensor,
             bev_mask: Optional[Tensor] = None,
             data_samples: Optional[Sequence[Any]] = None,
             valid: Optional[Tensor] = None,
             **unused) -> Dict[str, Tensor]:
        """BCE occupancy loss, weighted by ``loss_weight``.

        Arguments as in :meth:`OccupancyDiffusionHead.loss`; those that
        only seed its noise (``sample_ids``, ``iteration``) are accepted
        and not used.

        Returns:
            dict[str, Tensor]: ``loss_occupancy`` and ``diff_valid`` (the
            number of samples of this rank in the loss; not a loss).
        """
        batch_size = occ_target.shape[0]
        expected = (batch_size, self.num_height_bins) + self.grid_shape
        if tuple(occ_target.shape) != expected:
            raise ValueError(f'occ_target has shape {tuple(occ_target.shape)}'
                             f', expected {expected} (the BEVOccupancyTarget '
                             'grid must be the head\'s)')
        cond = self.build_condition(feats_t0, xyz_t0, batch_t0, batch_size,
                                    feats_prev, xyz_prev, batch_prev, bev_mask)
        valid = self.valid_samples(batch_size, data_samples, valid,
                                   occ_target.device)
        logits = self.decode(cond, bev_mask)
        weight = self.diffusion_mode.cell_weight(valid, bev_mask)
        target = (occ_target.float() + 1) / 2
        bce = F.binary_cross_entropy_with_logits(
            logits, target, reduction='none')
        count = weight.expand_as(logits).sum()
        mean, = global_mean([(bce * weight).sum()], count)
        return dict(
            loss_occupancy=mean * self.loss_weight,
            diff_valid=valid.sum().float())

    @torch.no_grad()
    def sample(self,
               cond: Optional[Tensor] = None,
               *,
               bev_mask: Optional[Tensor] = None,
               batch_size: Optional[int] = None,
               **inputs) -> Tensor:
        """The decoded occupancy in [-1, 1] (``2 * sigmoid - 1``), in the
        diffusion head's :meth:`~OccupancyDiffusionHead.sample` format, so
        the same pictures can be drawn. ``inputs``: the feature inputs of
        :meth:`loss` when ``cond`` is None; the reverse-process arguments
        (``num_inference_steps``, ``scheduler``, ...) are ignored: the
        decoder predicts in one step."""
        if cond is None:
            batch = inputs['batch_t0']
            if batch_size is None:
                batch_size = int(batch.max()) + 1 if batch.numel() else 1
            cond = self.build_condition(
                inputs['feats_t0'], inputs['xyz_t0'], batch, batch_size,
                *[inputs.get(f'{k}_prev') for k in ('feats', 'xyz', 'batch')],
                bev_mask)
        occ = 2 * torch.sigmoid(self.decode(cond, bev_mask)) - 1
        return self.diffusion_mode.output(occ, bev_mask)
