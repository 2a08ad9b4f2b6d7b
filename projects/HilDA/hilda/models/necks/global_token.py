# Copyright (c) HilDA authors. All rights reserved.
import math
from typing import Dict, Optional

import torch
from mmdet3d.registry import MODELS
from mmdet3d.utils import OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..losses import cosine_distance_loss
from ..utils import global_mean
from .hierarchical_distill_neck import projection_head


def segment_softmax(scores: Tensor, segment: Tensor,
                    num_segments: int) -> Tensor:
    """Softmax of (M, H) scores within each segment (sample) of the batch.
    """
    index = segment.unsqueeze(1).expand_as(scores)
    peak = scores.new_full((num_segments, scores.shape[1]), -torch.inf)
    peak = peak.scatter_reduce(0, index, scores, reduce='amax')
    exp = (scores - peak[segment]).exp()
    total = exp.new_zeros(peak.shape).index_add_(0, segment, exp)
    return exp / total[segment]


@MODELS.register_module()
class GlobalTokenHead(BaseModule):
    """The learnable 3D global token and H_CLS, for L_CLS.

    The token summarises the whole scan by attention pooling over the
    student's bottleneck voxels: a learnable query attends (multi-head) to
    the voxels of each sample; ``pooling='mean'`` averages them instead.
    H_CLS maps the token to teacher channels; the loss is the cosine
    distance to the teacher's CLS token of the scene (mean over cameras,
    computed by the pre-trainer), averaged over the samples. Distributed,
    the average runs over the samples of all ranks
    (:func:`~projects.HilDA.hilda.models.utils.global_mean`), so DDP's
    gradient equals one process's on the whole batch also when the ranks'
    batches differ in size.

    Args:
        in_channels (int): Bottleneck channels.
        teacher_channels (int): Teacher CLS channels.
        pooling (str): 'attention' (default) or 'mean'.
        num_heads (int): Attention heads. Defaults to 4.
        head_type (str): H_CLS, 'linear' or 'mlp' (default).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 teacher_channels: int,
                 pooling: str = 'attention',
                 num_heads: int = 4,
                 head_type: str = 'mlp',
                 hidden_channels: Optional[int] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pooling not in ('attention', 'mean'):
            raise ValueError(
                f"pooling must be 'attention' or 'mean', got {pooling}")
        if pooling == 'attention' and in_channels % num_heads:
            raise ValueError(f'in_channels {in_channels} is not divisible by '
                             f'num_heads {num_heads}')
        self.pooling = pooling
        self.num_heads = num_heads
        if pooling == 'attention':
            self.query = nn.Parameter(torch.randn(in_channels) * 0.02)
            self.key = nn.Linear(in_channels, in_channels)
            self.value = nn.Linear(in_channels, in_channels)
        self.cls_head = projection_head(in_channels, teacher_channels,
                                        head_type, hidden_channels)

    def forward(self, feats: Tensor, batch_idx: Tensor,
                batch_size: int) -> Tensor:
        """Pool (M, C) voxel features per sample and map them: (B, D)."""
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

    def loss(self, feats: Tensor, batch_idx: Tensor,
             teacher_cls: Tensor) -> Dict[str, Tensor]:
        """L_CLS: cosine distance between token and teacher CLS (B, D),
        averaged over the samples of all ranks (see class docstring)."""
        token = self.forward(feats, batch_idx, len(teacher_cls))
        total = cosine_distance_loss(token, teacher_cls, reduction='sum')
        return dict(loss_cls=global_mean([total], len(teacher_cls))[0])
