# Copyright (c) HilDA authors. All rights reserved.
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet3d.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor, nn


class GridUnpooling(BaseModule):
    """Bring coarse voxel features back to the finer voxels they pooled
    (PTv3 upsampling).

    Both the coarse features and the finer stage's encoder features (the
    skip connection) go through a linear layer, norm and activation; each
    fine voxel gets its skip feature plus its coarse voxel's feature.

    Args:
        in_channels (int): Channels of the coarse features.
        skip_channels (int): Channels of the skip features.
        out_channels (int): Output channels.
        norm_cfg (dict): Defaults to BN1d (eps 1e-3, momentum 0.01).
        act_cfg (dict): Defaults to GELU.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 skip_channels: int,
                 out_channels: int,
                 norm_cfg: ConfigType = dict(
                     type='BN1d', eps=1e-3, momentum=0.01),
                 act_cfg: ConfigType = dict(type='GELU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Sequential(
            nn.Linear(in_channels, out_channels),
            build_norm_layer(norm_cfg, out_channels)[1],
            build_activation_layer(act_cfg))
        self.proj_skip = nn.Sequential(
            nn.Linear(skip_channels, out_channels),
            build_norm_layer(norm_cfg, out_channels)[1],
            build_activation_layer(act_cfg))

    def forward(self, feats: Tensor, skip: Tensor, inverse: Tensor) -> Tensor:
        """Unpool.

        Args:
            feats (Tensor): (M', C_in) coarse voxel features.
            skip (Tensor): (M, C_skip) features of the finer voxels.
            inverse (Tensor): (M,) coarse voxel of each finer voxel.

        Returns:
            Tensor: (M, C_out) features of the finer voxels.
        """
        return self.proj_skip(skip) + self.proj(feats).index_select(0, inverse)
