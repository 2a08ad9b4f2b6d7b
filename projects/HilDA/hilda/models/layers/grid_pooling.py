# Copyright (c) HilDA authors. All rights reserved.
from typing import Tuple

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet3d.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..utils import segment_max


class GridPooling(BaseModule):
    """Pool voxels into a grid ``stride`` times coarser (PTv3 downsampling).

    A linear projection, then the channel-wise max over the voxels of each
    coarse cell, then norm and activation. The coarse cells come sorted by
    (batch, x, y, z), whatever order the voxels come in.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Coarse cell size in input cells. Defaults to 2.
        norm_cfg (dict): Defaults to BN1d (eps 1e-3, momentum 0.01).
        act_cfg (dict): Defaults to GELU.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 2,
                 norm_cfg: ConfigType = dict(
                     type='BN1d', eps=1e-3, momentum=0.01),
                 act_cfg: ConfigType = dict(type='GELU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if stride < 1:
            raise ValueError(f'pooling stride must be >= 1, got {stride}')
        self.stride = stride
        self.proj = nn.Linear(in_channels, out_channels)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg)

    def forward(self, feats: Tensor,
                coors: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Pool.

        Args:
            feats (Tensor): (M, C_in) voxel features.
            coors (Tensor): (M, 4) int voxel coordinates, batch first.

        Returns:
            tuple[Tensor, Tensor, Tensor]: (M', C_out) features and (M', 4)
            int coordinates of the coarse voxels, and the (M,) coarse voxel
            of each input voxel.
        """
        coarse = coors.long().clone()
        coarse[:, 1:] = torch.div(
            coarse[:, 1:], self.stride, rounding_mode='floor')
        coarse, inverse = torch.unique(coarse, dim=0, return_inverse=True)
        pooled = segment_max(self.proj(feats), inverse, len(coarse))
        return self.act(self.norm(pooled)), coarse.to(coors.dtype), inverse
