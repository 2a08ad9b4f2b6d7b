# Copyright (c) HilDA authors. All rights reserved.
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmdet3d.models.backbones import MinkUNetBackbone
from mmdet3d.models.layers.sparse_block import replace_feature
from mmdet3d.models.layers.torchsparse import IS_TORCHSPARSE_AVAILABLE
from mmdet3d.registry import MODELS
from mmdet3d.utils import OptMultiConfig
from mmengine.logging import print_log
from spconv.pytorch import SparseConvTensor
from torch import Tensor, nn

from ...structures import PointLevels, SparseLevel
from .voxel_to_point import ConvGeometry, map_points_to_levels

if IS_TORCHSPARSE_AVAILABLE:
    import torchsparse

_fallback_logged = False

# mmdet3d's MinkUNet downsamples with kernel 2, stride 2, no padding.
_DOWN = ConvGeometry((2, 2, 2), (2, 2, 2), (0, 0, 0))


def _log_torchsparse_fallback() -> None:
    """Say once per process that torchsparse was replaced by spconv."""
    global _fallback_logged
    if _fallback_logged:
        return
    _fallback_logged = True
    print_log(
        'MultiLevelMinkUNet: torchsparse is not installed, falling back to '
        "sparseconv_backend='spconv' (same parameters; voxel coors must be "
        'batch first, i.e. the data preprocessor needs batch_first=True).',
        logger='current',
        level=logging.WARNING)


@MODELS.register_module()
class MultiLevelMinkUNet(MinkUNetBackbone):
    """MinkUNet that returns every decoder stage, for multi-level distillation.

    Parameters (and their names) are exactly those of mmdet3d's
    :class:`MinkUNetBackbone`, so a pre-trained state dict loads into
    mmdet3d's ``MinkUNet`` segmentor under ``backbone.``. The computation is
    also the same: ``forward(...)['voxel_feats']`` equals
    ``MinkUNetBackbone.forward``. The defaults are MinkUNet34 (w32).

    Level order: ``decoder_feats`` and :meth:`point_levels` follow
    execution order. Index 0 is the first decoder stage (coarsest, stride
    ``2**(num_stages-1)``), index -1 the last one (finest, stride 1; its
    features are ``voxel_feats``). "Deepest" in layer count is therefore
    index -1, while the lowest resolution is index 0.

    Args:
        in_channels (int): Input voxel feature channels. Defaults to 4.
        base_channels (int): Channels of the input convs. Defaults to 32.
        num_stages (int): Encoder/decoder stages. Defaults to 4.
        encoder_channels (Sequence[int]): Defaults to (32, 64, 128, 256).
        encoder_blocks (Sequence[int]): Defaults to (2, 3, 4, 6).
        decoder_channels (Sequence[int]): Defaults to (256, 128, 96, 96).
        decoder_blocks (Sequence[int]): Defaults to (2, 2, 2, 2).
        block_type (str): 'basic' or 'bottleneck'. Defaults to 'basic'.
        sparseconv_backend (str): 'spconv' or 'torchsparse'. torchsparse
            falls back to spconv (logged once) when it is not installed.
            Defaults to 'spconv'.
        num_levels (int): Decoder stages mapped to points by
            :meth:`point_levels` (K+1). Defaults to 4.
        pad_spatial_shape (bool): Round the spconv grid up to a multiple of
            ``2**num_stages``. mmdet3d uses ``coors.max() + 1``, and a
            stride-2 conv drops the voxels on an odd border of it (their
            points then have no coarse-stage feature). Padding keeps them
            but differs from mmdet3d's MinkUNet there. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 4,
                 base_channels: int = 32,
                 num_stages: int = 4,
                 encoder_channels: Sequence[int] = (32, 64, 128, 256),
                 encoder_blocks: Sequence[int] = (2, 3, 4, 6),
                 decoder_channels: Sequence[int] = (256, 128, 96, 96),
                 decoder_blocks: Sequence[int] = (2, 2, 2, 2),
                 block_type: str = 'basic',
                 sparseconv_backend: str = 'spconv',
                 num_levels: int = 4,
                 pad_spatial_shape: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        assert sparseconv_backend in ('spconv', 'torchsparse'), \
            f'unsupported sparseconv_backend {sparseconv_backend}'
        assert 1 <= num_levels <= num_stages, \
            f'num_levels must be in [1, {num_stages}], got {num_levels}'
        if sparseconv_backend == 'torchsparse' and \
                not IS_TORCHSPARSE_AVAILABLE:
            _log_torchsparse_fallback()
            sparseconv_backend = 'spconv'
        # The parent inserts into these lists: hand it fresh copies.
        super().__init__(
            in_channels=in_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            encoder_channels=list(encoder_channels),
            encoder_blocks=list(encoder_blocks),
            decoder_channels=list(decoder_channels),
            decoder_blocks=list(decoder_blocks),
            block_type=block_type,
            sparseconv_backend=sparseconv_backend,
            init_cfg=init_cfg)
        self.num_levels = num_levels
        self.pad_spatial_shape = pad_spatial_shape
        self.encoder_channels = tuple(encoder_channels)
        self.decoder_channels = tuple(decoder_channels)

    @property
    def level_channels(self) -> Tuple[int, ...]:
        """Channels of the :meth:`point_levels` levels, in their order."""
        return self.decoder_channels[-self.num_levels:]

    @property
    def level_strides(self) -> Tuple[int, ...]:
        """Strides of the :meth:`point_levels` levels, in their order."""
        strides = [
            2**(self.num_stages - 1 - i) for i in range(self.num_stages)
        ]
        return tuple(strides[-self.num_levels:])

    @property
    def last_stage(self) -> nn.Module:
        """The module that computes the last level (the last decoder
        stage): the parameters whose gradient share ``LossGradNormHook``
        logs as ``gradshare_last_<term>``."""
        return self.decoder[-1]

    @property
    def bottleneck_channels(self) -> int:
        """Channels of ``out['bottleneck']['feats']``."""
        return self.encoder_channels[-1]

    def _level(self, x, stride: int) -> SparseLevel:
        """Backend sparse tensor -> :class:`SparseLevel` (batch first)."""
        if self.sparseconv_backend == 'spconv':
            return SparseLevel(x.features, x.indices, (stride, ) * 3)
        # torchsparse 1.4 (mmdet3d's): (x, y, z, batch), coordinates kept in
        # input-voxel units at every stride.
        coors = torch.cat(
            [x.C[:, 3:],
             torch.div(x.C[:, :3], stride, rounding_mode='floor')], 1)
        return SparseLevel(x.F, coors, (stride, ) * 3)

    def forward(self, voxel_features: Tensor,
                coors: Tensor) -> Dict[str, Union[Tensor, list, dict]]:
        """Run the UNet and keep every decoder stage.

        Args:
            voxel_features (Tensor): (M, C) voxel features.
            coors (Tensor): (M, 4) int voxel coordinates, (b, x, y, z) for
                spconv (``batch_first=True``), (x, y, z, b) for torchsparse,
                samples one after the other.

        Returns:
            dict: ``decoder_feats`` (list[SparseLevel], execution order,
            coarsest first), ``voxel_feats`` ((M, C_last) features of the
            last stage, equal to ``MinkUNetBackbone.forward``), ``bottleneck``
            (dict of ``feats`` (M_b, C_b), ``coors`` (M_b, 4) batch first,
            ``stride``: the deepest encoder output),
            ``coors`` ((M, 4) batch-first input coordinates) and
            ``spatial_shape`` (spconv grid extent, None for torchsparse).
        """
        if self.sparseconv_backend == 'torchsparse':
            x = torchsparse.SparseTensor(voxel_features, coors)
            coors_bf = coors[:, [3, 0, 1, 2]]
            spatial_shape = None
        else:
            spatial_shape = coors.max(0)[0][1:] + 1
            if self.pad_spatial_shape:
                multiple = 2**self.num_stages
                spatial_shape = (spatial_shape + multiple -
                                 1) // multiple * multiple
            spatial_shape = [int(n) for n in spatial_shape]
            batch_size = int(coors[:, 0].max()) + 1
            x = SparseConvTensor(voxel_features, coors, spatial_shape,
                                 batch_size)
            coors_bf = coors

        x = self.conv_input(x)
        laterals = [x]
        for encoder_layer in self.encoder:
            x = encoder_layer(x)
            laterals.append(x)
        bottleneck = self._level(x, 2**self.num_stages)
        laterals = laterals[:-1][::-1]

        decoder_feats: List[SparseLevel] = []
        for i, decoder_layer in enumerate(self.decoder):
            x = decoder_layer[0](x)
            if self.sparseconv_backend == 'torchsparse':
                x = torchsparse.cat((x, laterals[i]))
            else:
                x = replace_feature(
                    x, torch.cat((x.features, laterals[i].features), dim=1))
            x = decoder_layer[1](x)
            decoder_feats.append(self._level(x, 2**(self.num_stages - 1 - i)))

        return dict(
            decoder_feats=decoder_feats,
            voxel_feats=decoder_feats[-1].feats,
            bottleneck=bottleneck._asdict(),
            coors=coors_bf,
            spatial_shape=spatial_shape)

    def point_levels(self,
                     out: dict,
                     points: Union[Tensor, Sequence[Tensor]],
                     num_levels: Optional[int] = None) -> PointLevels:
        """The voxel of each point at the last ``num_levels`` decoder
        stages (gather with :meth:`PointLevels.gather`, or all at once with
        :meth:`PointLevels.gather_all`).

        A point in input voxel ``(b, c)`` takes, at a stage of stride ``s``,
        the feature of the stage voxel ``(b, c // s)`` (exact for these
        kernel-2 stride-2 convs). Points without a voxel (``-1`` in the
        map, e.g. dropped by ``max_voxels``) and points whose voxel spconv
        dropped on an odd grid border have none (index -1).

        Args:
            out (dict): The output of :meth:`forward`.
            points (Tensor | Sequence[Tensor]): Per-sample
                ``data_sample.point2voxel_map`` tensors (indices into each
                sample's voxels), one (N,) tensor of indices into the batch's
                voxels, or point voxel coordinates (see
                :func:`map_points_to_levels`).
            num_levels (int, optional): Defaults to ``self.num_levels``.

        Returns:
            PointLevels: stages in execution order (index 0: coarsest of
            the chosen stages, index -1: the last decoder stage).
        """
        num_levels = num_levels or self.num_levels
        assert 1 <= num_levels <= self.num_stages
        first = self.num_stages - num_levels
        levels = out['decoder_feats'][first:]
        geometries = [[_DOWN] * (self.num_stages - 1 - i)
                      for i in range(first, self.num_stages)]
        return map_points_to_levels(levels, geometries, out['coors'], points,
                                    out['spatial_shape'])
