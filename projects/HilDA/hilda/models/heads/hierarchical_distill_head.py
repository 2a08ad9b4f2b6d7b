# Copyright (c) HilDA authors. All rights reserved.
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmdet3d.registry import MODELS
from mmdet3d.utils import ConfigType, OptMultiConfig
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...structures import PointLevels
from ..losses import num_superpixels
from ..utils import MapSampler, global_mean, projection_head

# Pairs per chunk of teacher sampling on CPU: a (chunk, D) block stays in
# cache.
TEACHER_CHUNK = 4096


@MODELS.register_module()
class HierarchicalDistillHead(BaseModule):
    """Per-level heads H_l and the hierarchical distillation loss L_distill.

    Level ``l`` of the student (point features) is aligned with level ``l``
    of the teacher (feature maps sampled bilinearly at each point's pixel);
    both lists run shallow -> deep, so the deepest levels pair up. The
    paper's setting is two levels (K = 1: the last two teacher blocks with
    the last two student decoder stages), one small MLP head per level and
    the cosine distance; the number of levels is set by the student's and
    teacher's ``num_levels``.

    The loss is ``loss_weight * sum_l w_l * L_l`` with the level weights
    normalised to sum to 1 (``w_l = level_weights[l] / sum(level_weights)``):
    a weighted *mean* over the levels, so the same ``loss_weight`` means
    the same with 1 and with 4 levels. ``L_l`` is a mean over all
    point-pixel pairs of the batch (InfoNCE: over its superpixels).

    Distributed training: the mean is over the pairs of *all* ranks (each
    rank divides its sum by the pair count averaged over ranks, see
    :func:`~projects.HilDA.hilda.models.utils.global_mean`), so DDP's
    gradient average equals the gradient of one process on the whole batch
    although the ranks see different numbers of pairs; the logged value is
    that of the whole batch. The ranks all-reduce once per call, also when
    one has no pair. Two parts still depend on the split: ``max_pairs``
    draws its random subset per rank (and from the global RNG), and
    InfoNCE's negatives are the superpixels of the rank's own samples.

    Args:
        student_channels (Sequence[int]): Channels of each student level.
        teacher_channels (Sequence[int]): Channels of each teacher level;
            same length as ``student_channels``.
        head_type (str): H_l, ``'mlp'`` (default, the paper's small MLP)
            or ``'linear'``.
        hidden_channels (int, optional): MLP width.
        loss (dict): The per-pair loss, a registered module:
            ``CosineDistanceLoss`` (default, the paper's),
            ``NormalizedL2Loss`` or ``SuperpixelInfoNCELoss`` (SLidR;
            needs superpixel ids for the pairs). Its ``loss_weight`` is
            L_distill's weight in the total loss.
        level_weights (Sequence[float], optional): Relative weight of each
            level, normalised to sum to 1; defaults to equal weights.
        max_pairs (int, optional): Randomly keep at most this many pairs
            per batch and rank (memory cap); None keeps all. The subset
            depends on the rank layout, so a capped run does not match
            one process with the combined batch exactly.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 student_channels: Sequence[int],
                 teacher_channels: Sequence[int],
                 head_type: str = 'mlp',
                 hidden_channels: Optional[int] = None,
                 loss: ConfigType = dict(
                     type='CosineDistanceLoss', loss_weight=1.0),
                 level_weights: Optional[Sequence[float]] = None,
                 max_pairs: Optional[int] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(student_channels) != len(teacher_channels):
            raise ValueError(
                f'the student gives {len(student_channels)} levels '
                f'({list(student_channels)} channels) but the teacher '
                f'{len(teacher_channels)} ({list(teacher_channels)}); set '
                'the same number of levels (K+1) for both')
        self.num_levels = len(student_channels)
        weights = list(level_weights or [1.0] * self.num_levels)
        if len(weights) != self.num_levels:
            raise ValueError(f'{len(weights)} level_weights for '
                             f'{self.num_levels} levels')
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError('level_weights must be >= 0 with a positive '
                             f'sum, got {weights}')
        self.level_weights = [w / sum(weights) for w in weights]
        self.loss_fn = MODELS.build(loss)
        self.max_pairs = max_pairs
        self.heads = nn.ModuleList(
            projection_head(s, t, head_type, hidden_channels)
            for s, t in zip(student_channels, teacher_channels))
        self.num_empty_batches = 0

    def _zero_loss(self) -> Tensor:
        """A zero that keeps every head in the graph (DDP needs that)."""
        return sum(p.sum() * 0 for p in self.heads.parameters())

    def loss(
            self,
            point_feats: Union[List[Tensor], PointLevels],
            teacher_feats: List[Tensor],
            point_idx: Tensor,
            img_idx: Tensor,
            uv: Tensor,
            image_size: Tuple[int, int],
            superpixel: Optional[Tensor] = None,
            feature_strides: Optional[Sequence[int]] = None
    ) -> Dict[str, Tensor]:
        """Compute L_distill.

        Args:
            point_feats (list[Tensor] | PointLevels): Per level (N, C_l)
                features of all points of the batch, or where they live
                (:meth:`PointLevels.gather` then reads only the pairs'
                rows, and runs a head once per voxel of the pairs).
            teacher_feats (list[Tensor]): Per level (B*num_cams, D_l, h, w).
            point_idx (Tensor): (P,) row of each pair in ``point_feats``.
            img_idx (Tensor): (P,) image of each pair in ``teacher_feats``.
            uv (Tensor): (P, 2) pixel of each pair in the teacher's input.
            image_size (tuple[int, int]): (H, W) of the teacher's input.
            superpixel (Tensor, optional): (P,) superpixel id of each pair,
                unique over the batch; required by SuperpixelInfoNCELoss.
            feature_strides (Sequence[int], optional): Input pixels per
                feature cell of each teacher level. Needed when the teacher
                padded its input (CNN maps of ``ceil(W / s)`` cells); by
                default a map is taken to cover exactly ``image_size``.

        Returns:
            dict[str, Tensor]: ``loss_distill_l{i}`` per level, weighted
            (``loss_weight`` times the normalised level weight); their sum
            is L_distill's term of the total loss.
        """
        if len(point_feats) != self.num_levels or \
                len(teacher_feats) != self.num_levels:
            raise ValueError(
                f'expected {self.num_levels} levels, got '
                f'{len(point_feats)} student and {len(teacher_feats)} '
                'teacher feature levels')
        num_pairs = point_idx.numel()
        if num_pairs == 0:
            self.num_empty_batches += 1
            print_log(
                'no point-pixel correspondence in this batch: it adds '
                f'nothing to L_distill ({self.num_empty_batches} such '
                'batches so far)',
                logger='current',
                level=logging.WARNING)
            # Zeros in the graph; the ranks still reduce together below.
            sums = [self._zero_loss()] * self.num_levels
            count = 0
        else:
            sums, count = self._level_sums(point_feats, teacher_feats,
                                           point_idx, img_idx, uv, image_size,
                                           superpixel, feature_strides)
        means = global_mean(sums, count)
        weighted = [w * m for w, m in zip(self.level_weights, means)]
        return {f'loss_distill_l{i}': v for i, v in enumerate(weighted)}

    def _level_sums(
            self, point_feats: Union[List[Tensor], PointLevels],
            teacher_feats: List[Tensor], point_idx: Tensor, img_idx: Tensor,
            uv: Tensor, image_size: Tuple[int,
                                          int], superpixel: Optional[Tensor],
            feature_strides: Optional[Sequence[int]]
    ) -> Tuple[List[Tensor], int]:
        """Per level the loss summed over this rank's items (pairs, or
        superpixels for InfoNCE), and the number of items."""
        if self.max_pairs is not None and point_idx.numel() > self.max_pairs:
            keep = torch.randperm(
                point_idx.numel(), device=point_idx.device)[:self.max_pairs]
            point_idx, img_idx, uv = point_idx[keep], img_idx[keep], uv[keep]
            superpixel = None if superpixel is None else superpixel[keep]
        if self.loss_fn.needs_segments:
            if superpixel is None:
                raise ValueError(
                    f'{type(self.loss_fn).__name__} needs superpixels: add '
                    'ImageSuperpixels to the pipeline')
            count = num_superpixels(superpixel)
        else:
            count = point_idx.numel()
        if not isinstance(point_feats, PointLevels):
            point_feats = PointLevels.from_point_feats(point_feats)
        sums = []
        for i, (head, maps) in enumerate(zip(self.heads, teacher_feats)):
            covered = image_size if feature_strides is None else (
                maps.shape[-2] * feature_strides[i],
                maps.shape[-1] * feature_strides[i])
            sampler = MapSampler(maps, covered)
            if getattr(self.loss_fn, 'groupable', False):
                sums.append(
                    self._grouped_sum(point_feats, i, head, sampler, point_idx,
                                      img_idx, uv))
                continue
            student = point_feats.gather(i, point_idx, head)
            teacher = sampler(img_idx, uv)
            sums.append(
                self.loss_fn(student, teacher, superpixel, reduction='sum'))
        return sums, count

    def _grouped_sum(self, point_feats: PointLevels, level: int,
                     head: nn.Module, sampler: MapSampler, point_idx: Tensor,
                     img_idx: Tensor, uv: Tensor) -> Tensor:
        """Level ``level``'s loss summed over the pairs, computed per voxel
        (``loss_fn.groupable``): H_l runs once per voxel of the pairs, the
        teacher's pixels are sampled in chunks of pairs and summed into
        their voxels, so neither side holds a (pairs, teacher channels)
        tensor, which on a CPU costs more in memory traffic than the
        arithmetic."""
        voxels, pair_voxel = point_feats.gather_grouped(level, point_idx, head)
        targets = voxels.new_zeros(
            (len(voxels), sampler.dims),
            dtype=torch.promote_types(voxels.dtype, torch.float32))
        # On a GPU memory traffic is cheap and launches are not: one chunk.
        step = TEACHER_CHUNK if sampler.table.device.type == 'cpu' else len(
            point_idx)
        with torch.no_grad():
            for start in range(0, len(point_idx), step):
                rows = slice(start, start + step)
                self.loss_fn.add_targets(targets, pair_voxel[rows],
                                         sampler(img_idx[rows], uv[rows]))
        return self.loss_fn.forward_grouped(
            voxels, targets, len(point_idx), reduction='sum')
