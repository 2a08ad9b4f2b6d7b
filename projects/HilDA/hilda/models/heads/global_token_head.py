# Copyright (c) HilDA authors. All rights reserved.
import math
from typing import Dict, Optional

import torch
from mmdet3d.registry import MODELS
from mmdet3d.utils import ConfigType, OptMultiConfig
from mmengine.dist import all_reduce
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..utils import (global_mean, projection_head, rowwise_map_segment_max,
                     segment_softmax)

POOLINGS = ('max', 'attention', 'mean')
CAMERA_POOLINGS = ('max', 'mean')
FEATURE_LEVELS = ('last', 'bottleneck')


@MODELS.register_module()
class GlobalTokenHead(BaseModule):
    """The 3D global token and H_CLS, for L_CLS.

    Paper (the defaults): H_CLS, a small MLP, maps every point feature of
    the student's last level to teacher channels, then a global max-pool
    over the scan's points gives one token per sample; the teacher's
    last-block CLS tokens are max-pooled over the sample's cameras; the
    loss is the MSE between the two, averaged over the samples.

    Project options: ``pooling='attention'`` (a learnable query attends,
    multi-head, to the features of each sample) or ``'mean'``, both
    pooling *before* H_CLS; ``camera_pooling='mean'``;
    ``feature_level='bottleneck'`` (the student's coarsest encoder stage
    instead of its last level); ``loss=dict(type='CosineDistanceLoss')``;
    ``standardize_target=True``.

    Target standardisation (an option; the paper's raw MSE is the
    default): much of a teacher's CLS is the same in every scene (the
    demo teacher's about 94 % of its energy), and a raw MSE then mostly
    teaches a constant. With ``standardize_target`` every channel of the
    scene descriptor is centred and scaled by running statistics of the
    training targets (buffers ``target_mean``, ``target_sq_mean``,
    ``target_count``: cumulative over all samples seen, on all ranks,
    saved with the checkpoint so a resumed run continues them), and the
    loss acts on what varies between scenes. The statistics are updated in
    training mode only, before the batch is standardised.

    The features are given per row with the sample of each row. For the
    last level the pre-trainer passes each voxel that holds a t0 point once
    (a voxel's points share its feature, so the max over points equals the
    max over those voxels, at a fraction of the work).

    Distributed, the average runs over the samples of all ranks
    (:func:`~projects.HilDA.hilda.models.utils.global_mean`), so DDP's
    gradient equals one process's on the whole batch also when the ranks'
    batches differ in size.

    Args:
        in_channels (int): Student channels of ``feature_level``.
        teacher_channels (int): Teacher CLS channels.
        pooling (str): ``'max'`` (default, paper), ``'attention'`` or
            ``'mean'``.
        camera_pooling (str): How the cameras' CLS tokens become one scene
            descriptor: ``'max'`` (default, paper) or ``'mean'``.
        feature_level (str): Student features the token is made from:
            ``'last'`` (default, paper: the last distilled level) or
            ``'bottleneck'``. Read by the pre-trainer.
        num_heads (int): Attention heads. Defaults to 4.
        head_type (str): H_CLS, ``'mlp'`` (default) or ``'linear'``.
        hidden_channels (int, optional): MLP width.
        loss (dict): The loss module, ``FeatureMSELoss`` (default, paper)
            or ``CosineDistanceLoss``; its ``loss_weight`` is L_CLS's
            weight in the total loss.
        standardize_target (bool): Standardise the teacher's scene
            descriptor per channel (see above). Defaults to False.
        std_floor (float): A channel's variance is floored at this share
            of the mean variance over channels, so channels that hardly
            vary are not blown up. Defaults to 1e-3.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 teacher_channels: int,
                 pooling: str = 'max',
                 camera_pooling: str = 'max',
                 feature_level: str = 'last',
                 num_heads: int = 4,
                 head_type: str = 'mlp',
                 hidden_channels: Optional[int] = None,
                 loss: ConfigType = dict(
                     type='FeatureMSELoss', loss_weight=1.0),
                 standardize_target: bool = False,
                 std_floor: float = 1e-3,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        choices = dict(
            pooling=(pooling, POOLINGS),
            camera_pooling=(camera_pooling, CAMERA_POOLINGS),
            feature_level=(feature_level, FEATURE_LEVELS))
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(
                    f'{name} must be one of {allowed}, got {value!r}')
        if pooling == 'attention' and in_channels % num_heads:
            raise ValueError(f'in_channels {in_channels} is not divisible by '
                             f'num_heads {num_heads}')
        self.pooling = pooling
        self.camera_pooling = camera_pooling
        self.feature_level = feature_level
        self.num_heads = num_heads
        if pooling == 'attention':
            self.query = nn.Parameter(torch.randn(in_channels) * 0.02)
            self.key = nn.Linear(in_channels, in_channels)
            self.value = nn.Linear(in_channels, in_channels)
        self.cls_head = projection_head(in_channels, teacher_channels,
                                        head_type, hidden_channels)
        self.loss_fn = MODELS.build(loss)
        self.standardize_target = standardize_target
        self.std_floor = float(std_floor)
        if standardize_target:
            self.register_buffer('target_mean', torch.zeros(teacher_channels))
            self.register_buffer('target_sq_mean',
                                 torch.zeros(teacher_channels))
            self.register_buffer('target_count',
                                 torch.zeros((), dtype=torch.float64))

    def forward(self, feats: Tensor, batch_idx: Tensor,
                batch_size: int) -> Tensor:
        """The (B, D) tokens of (M, C) features of samples ``batch_idx``."""
        if self.pooling == 'max':
            # H_CLS on every row, then the max over the sample's rows
            # (back-propagating through the rows that hold a maximum).
            return rowwise_map_segment_max(self.cls_head, feats, batch_idx,
                                           batch_size)
        if self.pooling == 'mean':
            token = feats.new_zeros((batch_size, feats.shape[1]))
            token.index_add_(0, batch_idx, feats)
            counts = torch.bincount(batch_idx, minlength=batch_size)
            token = token / counts.clamp(min=1).unsqueeze(1).to(feats.dtype)
        else:
            dims = feats.shape[1] // self.num_heads
            keys = self.key(feats).view(-1, self.num_heads, dims)
            values = self.value(feats).view(-1, self.num_heads, dims)
            query = self.query.view(self.num_heads, dims)
            scores = (keys * query).sum(-1) / math.sqrt(dims)
            attn = segment_softmax(scores, batch_idx, batch_size)
            token = values.new_zeros((batch_size, self.num_heads, dims))
            token.index_add_(0, batch_idx, attn.unsqueeze(-1) * values)
            token = token.flatten(1)
        return self.cls_head(token)

    def scene_descriptor(self, teacher_cls: Tensor) -> Tensor:
        """(B, num_cams, D) camera CLS tokens -> (B, D); (B, D) as is."""
        if teacher_cls.dim() == 2:
            return teacher_cls
        if self.camera_pooling == 'max':
            return teacher_cls.amax(1)
        return teacher_cls.mean(1)

    @torch.no_grad()
    def update_target_stats(self, target: Tensor) -> None:
        """Add (N, D) scene descriptors (of all ranks) to the running
        per-channel mean and mean square."""
        stats = torch.cat([
            target.sum(0),
            target.square().sum(0),
            target.new_tensor([len(target)])
        ]).double()
        all_reduce(stats, op='sum')
        dims = target.shape[1]
        count = stats[-1]
        if count == 0:
            return
        total = self.target_count + count
        for buffer, batch_sum in ((self.target_mean, stats[:dims]),
                                  (self.target_sq_mean, stats[dims:2 * dims])):
            buffer.copy_(
                (buffer.double() * self.target_count + batch_sum) / total)
        self.target_count.copy_(total)

    def standardize(self, target: Tensor) -> Tensor:
        """(N, D) descriptors centred and scaled per channel by the running
        statistics (the floored variance, see ``std_floor``)."""
        var = (self.target_sq_mean - self.target_mean.square()).clamp(min=0)
        var = var.clamp(min=self.std_floor * float(var.mean()) + 1e-12)
        return (target - self.target_mean) / var.sqrt()

    def loss(self, feats: Tensor, batch_idx: Tensor,
             teacher_cls: Tensor) -> Dict[str, Tensor]:
        """L_CLS, weighted by the loss's ``loss_weight``.

        Args:
            feats (Tensor): (M, C) student features.
            batch_idx (Tensor): (M,) long sample of each row.
            teacher_cls (Tensor): (B, num_cams, D) CLS tokens of each
                sample's cameras, or an already pooled (B, D).

        Returns:
            dict[str, Tensor]: ``loss_cls``, averaged over the samples of
            all ranks that have features (a sample whose points were all
            dropped takes no part).
        """
        target = self.scene_descriptor(teacher_cls)
        token = self.forward(feats, batch_idx, len(target))
        present = torch.bincount(batch_idx, minlength=len(target)) > 0
        if self.standardize_target:
            target = target.float()
            if self.training:
                self.update_target_stats(target[present])
            target = self.standardize(target)
        total = self.loss_fn(token[present], target[present], reduction='sum')
        if not present.all():
            # Keeps every parameter in the graph (DDP) when no sample has
            # features on this rank.
            total = total + sum(p.sum() * 0 for p in self.parameters())
        return dict(loss_cls=global_mean([total], int(present.sum()))[0])
