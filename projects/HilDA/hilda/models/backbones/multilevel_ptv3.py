# Copyright (c) HilDA authors. All rights reserved.
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmdet3d.registry import MODELS
from torch import Tensor

from ...structures import PointLevels
from .ptv3 import PointTransformerV3
from .voxel_to_point import batch_point2voxel


@MODELS.register_module()
class MultiLevelPTv3(PointTransformerV3):
    """Point Transformer V3 that returns every decoder stage, as a HilDA
    student.

    Parameters (and their names) are those of :class:`PointTransformerV3`,
    so the pre-trained state dict loads into the downstream segmentor's
    ``backbone.`` (``hilda_to_mmdet3d.py --target ptv3``). The output and
    :meth:`point_levels` follow :class:`MultiLevelMinkUNet`'s contract, so
    the pre-trainer and its heads take either student.

    Level order: execution order, index 0 the first decoder stage
    (coarsest), index -1 the last (the input voxels, stride 1).

    Args:
        num_levels (int): Decoder stages mapped to points by
            :meth:`point_levels` (K+1). Defaults to 2 (the paper's K = 1).
        **kwargs: :class:`PointTransformerV3`'s arguments.
    """

    def __init__(self, num_levels: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 1 <= num_levels <= self.num_stages - 1:
            raise ValueError(f'num_levels must be in [1, '
                             f'{self.num_stages - 1}], got {num_levels}')
        self.num_levels = num_levels

    @property
    def level_channels(self) -> Tuple[int, ...]:
        """Channels of the :meth:`point_levels` levels, in their order."""
        return tuple(self.dec_channels[::-1][-self.num_levels:])

    @property
    def level_strides(self) -> Tuple[int, ...]:
        """Strides of the :meth:`point_levels` levels, in their order."""
        return tuple(self.stage_strides[:-1][::-1][-self.num_levels:])

    @property
    def bottleneck_channels(self) -> int:
        """Channels of ``out['bottleneck']['feats']``."""
        return self.enc_channels[-1]

    def forward(self, voxel_features: Tensor,
                coors: Tensor) -> Dict[str, Union[Tensor, list, dict]]:
        """Every decoder stage; see :meth:`forward_stages`."""
        return self.forward_stages(voxel_features, coors)

    def point_levels(self,
                     out: dict,
                     points: Union[Tensor, Sequence[Tensor]],
                     num_levels: Optional[int] = None) -> PointLevels:
        """The voxel of each point at the last ``num_levels`` decoder
        stages.

        A decoder stage lives on the voxels of the encoder stage it returns
        to; a point's voxel there is its input voxel followed through the
        grid poolings (exact: every voxel has a coarse voxel, none is
        dropped).

        Args:
            out (dict): The output of :meth:`forward`.
            points (Tensor | Sequence[Tensor]): Per-sample
                ``data_sample.point2voxel_map`` tensors (indices into each
                sample's voxels) or one (N,) tensor of indices into the
                batch's voxels; -1 marks a point without voxel.
            num_levels (int, optional): Defaults to ``self.num_levels``.

        Returns:
            PointLevels: stages in execution order.
        """
        num_levels = num_levels or self.num_levels
        if not 1 <= num_levels <= self.num_stages - 1:
            raise ValueError(f'num_levels must be in [1, '
                             f'{self.num_stages - 1}], got {num_levels}')
        point2voxel = batch_point2voxel(points, out['coors'])
        if point2voxel.dim() != 1:
            raise ValueError('MultiLevelPTv3.point_levels takes point-to-'
                             'voxel indices, not coordinates')
        has_voxel = point2voxel >= 0
        # Voxel of every input voxel at each encoder stage.
        at_stage = [torch.arange(len(out['coors']), device=has_voxel.device)]
        for inverse in out['inverses'][1:]:
            at_stage.append(inverse[at_stage[-1]])
        # Decoder levels, coarsest first, return to stages S-2 .. 0.
        stage_of_level = list(range(self.num_stages - 2, -1, -1))
        chosen = range(len(stage_of_level) - num_levels, len(stage_of_level))
        feats, index = [], []
        for level in chosen:
            voxel = at_stage[stage_of_level[level]]
            feats.append(out['decoder_feats'][level].feats)
            index.append(
                torch.where(has_voxel, voxel[point2voxel.clamp(min=0)],
                            torch.full_like(point2voxel, -1)))
        return PointLevels(feats, index)
