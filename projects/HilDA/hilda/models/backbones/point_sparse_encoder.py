# Copyright (c) HilDA authors. All rights reserved.
"""SparseEncoder (SECOND / CenterPoint ``pts_middle_encoder``) as a student.

How HilDA feeds it: SparseEncoder wants voxel coordinates in
``(b, z, y, x)`` order on a fixed grid given by a point-cloud range and a
voxel size (``sparse_shape = [gz + 1, gy, gx]``, the extra z cell being
SECOND's convention), not MinkUNet's min-shifted ``(b, x, y, z)`` voxels.
Two ways:

- ``voxelize_for_sparse_encoder`` (``models/data_preprocessors/
  voxelization.py``, what ``HilDADataPreprocessor`` runs with
  ``voxel_type='sparse_encoder'``) on the raw points (any device): mean
  point features per voxel (as ``DynamicSimpleVFE``), ``(b, z, y, x)``
  coors, per-sample ``point2voxel`` maps and the ``sparse_shape``.
- mmdet3d's own path, as CenterPoint's config: ``Det3DDataPreprocessor``
  (or ``HilDADataPreprocessor``) with ``voxel_type='hard'`` and
  ``HardSimpleVFE``; it gives ``(b, z, y, x)`` coors but no point-to-voxel
  map, so pass ``points_voxel_coors`` (same file) of the points to
  :meth:`PointSparseEncoder.point_levels` instead.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

from mmdet3d.models.middle_encoders import SparseEncoder
from mmdet3d.registry import MODELS
from mmdet3d.utils import OptConfigType
from mmengine.runner import amp
from spconv.pytorch import SparseConvTensor
from torch import Tensor, nn

from ...structures import PointLevels, SparseLevel
from .voxel_to_point import map_points_to_levels, strided_conv_geometries

TwoTupleIntType = Tuple[Tuple[int, ...], ...]


@MODELS.register_module()
class PointSparseEncoder(SparseEncoder):
    """SparseEncoder that also exposes its stages and per-point features.

    Parameters (and their names) are those of mmdet3d's
    :class:`SparseEncoder` for the same config, so the weights load into
    SECOND's ``middle_encoder`` / CenterPoint's ``pts_middle_encoder`` (it
    is a plain ``nn.Module``: use a key converter and ``load_from``, not
    ``init_cfg``). ``forward(...)['bev']`` equals ``SparseEncoder.forward``.

    Level order: execution order, index 0 = first encoder stage (finest),
    index -1 = last encoder stage (coarsest and deepest). The strides
    follow the config: (1, 2, 4, 8) for ``block_type='conv_module'``
    (SECOND), (2, 4, 8, 8) for CenterPoint's ``'basicblock'`` (its stages
    end, not start, with the strided conv); see :attr:`level_strides`.

    Args:
        in_channels (int): Input voxel feature channels.
        sparse_shape (list[int]): Grid extent (z, y, x); see
            :func:`sparse_shape_from_range`.
        order (tuple[str]): Conv module order. Defaults to
            ('conv', 'norm', 'act').
        norm_cfg (dict, optional): Norm config. Defaults to
            ``dict(type='BN1d', eps=1e-3, momentum=0.01)``.
        base_channels (int): Defaults to 16.
        output_channels (int): Defaults to 128.
        encoder_channels (tuple[tuple[int]]): Defaults to SECOND's.
        encoder_paddings (tuple[tuple[int]]): Defaults to SECOND's.
        block_type (str): 'conv_module' or 'basicblock'.
        num_levels (int): Encoder stages mapped to points by
            :meth:`point_levels` (K+1). Defaults to 4.
        return_bev (bool): Default of :meth:`forward`'s ``return_bev``;
            pre-training configs turn it off (the dense BEV is only the
            detector's input). Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 sparse_shape: Sequence[int],
                 order: Tuple[str, ...] = ('conv', 'norm', 'act'),
                 norm_cfg: OptConfigType = None,
                 base_channels: int = 16,
                 output_channels: int = 128,
                 encoder_channels: TwoTupleIntType = ((16, ), (32, 32, 32),
                                                      (64, 64, 64), (64, 64,
                                                                     64)),
                 encoder_paddings: TwoTupleIntType = ((1, ), (1, 1, 1),
                                                      (1, 1, 1), ((0, 1, 1), 1,
                                                                  1)),
                 block_type: str = 'conv_module',
                 num_levels: int = 4,
                 return_bev: bool = True) -> None:
        if norm_cfg is None:
            norm_cfg = dict(type='BN1d', eps=1e-3, momentum=0.01)
        super().__init__(
            in_channels=in_channels,
            sparse_shape=list(sparse_shape),
            order=tuple(order),
            norm_cfg=norm_cfg,
            base_channels=base_channels,
            output_channels=output_channels,
            encoder_channels=encoder_channels,
            encoder_paddings=encoder_paddings,
            block_type=block_type)
        assert 1 <= num_levels <= self.stage_num, \
            f'num_levels must be in [1, {self.stage_num}], got {num_levels}'
        self.num_levels = num_levels
        self.return_bev = return_bev
        # The strided convs of each stage, for the point -> voxel mapping.
        self.stage_geometries = [
            strided_conv_geometries(stage)
            for stage in self.encoder_layers.children()
        ]
        strides, stride = [], (1, 1, 1)
        for geometries in self.stage_geometries:
            for g in geometries:
                stride = tuple(a * b for a, b in zip(stride, g.stride))
            strides.append(stride)
        self.stage_strides = tuple(strides)

    @property
    def level_channels(self) -> Tuple[int, ...]:
        """Channels of the :meth:`point_levels` levels, in their order."""
        channels = [tuple(c)[-1] for c in self.encoder_channels]
        return tuple(channels[-self.num_levels:])

    @property
    def level_strides(self) -> Tuple[Tuple[int, int, int], ...]:
        """(z, y, x) strides of the :meth:`point_levels` levels."""
        return self.stage_strides[-self.num_levels:]

    @property
    def last_stage(self) -> nn.Module:
        """The module that computes the last level (the last encoder
        stage); see ``MultiLevelMinkUNet.last_stage``."""
        return self.encoder_layers[-1]

    @property
    def bottleneck_channels(self) -> int:
        """Channels of ``out['bottleneck']['feats']``."""
        return tuple(self.encoder_channels[-1])[-1]

    @amp.autocast(enabled=False)
    def forward(
            self,
            voxel_features: Tensor,
            coors: Tensor,
            batch_size: Optional[int] = None,
            return_bev: Optional[bool] = None
    ) -> Dict[str, Union[Tensor, list]]:
        """Encode, keeping every stage.

        Args:
            voxel_features (Tensor): (M, C) voxel features.
            coors (Tensor): (M, 4) ``(b, z, y, x)`` voxel coordinates.
            batch_size (int, optional): Batch size; by default the largest
                batch index + 1 (as the pre-trainer calls it).
            return_bev (bool, optional): Also run ``conv_out`` and densify
                (the detection input); defaults to ``self.return_bev``.

        Returns:
            dict: ``encode_feats`` (list[SparseLevel], one per stage,
            execution order, coors ``(b, z, y, x)``), ``bottleneck`` (the
            last stage as a dict of ``feats``, ``coors``, ``stride``),
            ``coors`` (the input coors), ``spatial_shape`` (``sparse_shape``)
            and, with ``return_bev``, ``bev`` (B, C*D, H, W), equal to
            ``SparseEncoder.forward``.
        """
        coors = coors.int()
        if batch_size is None:
            batch_size = int(coors[:, 0].max()) + 1
        if return_bev is None:
            return_bev = self.return_bev
        x = SparseConvTensor(voxel_features, coors, self.sparse_shape,
                             batch_size)
        x = self.conv_input(x)
        encode_feats = []
        for encoder_layer, stride in zip(self.encoder_layers,
                                         self.stage_strides):
            x = encoder_layer(x)
            encode_feats.append(SparseLevel(x.features, x.indices, stride))
        out = dict(
            encode_feats=encode_feats,
            bottleneck=encode_feats[-1]._asdict(),
            coors=coors,
            spatial_shape=tuple(self.sparse_shape))
        if return_bev:
            bev = self.conv_out(x).dense()
            n, c, d, h, w = bev.shape
            out['bev'] = bev.view(n, c * d, h, w)
        return out

    def point_levels(self,
                     out: dict,
                     points: Union[Tensor, Sequence[Tensor]],
                     num_levels: Optional[int] = None) -> PointLevels:
        """The voxel of each point at the last ``num_levels`` encoder stages
        (gather with :meth:`PointLevels.gather`, or all at once with
        :meth:`PointLevels.gather_all`).

        A point in input voxel ``(b, z, y, x)`` takes, at each stage, the
        voxel ``floor(c / stride)`` reached through the strided convs (see
        :mod:`.voxel_to_point`; with padding 0 in z the border cell is
        clamped onto the last output its kernel reaches).

        Args:
            out (dict): The output of :meth:`forward`.
            points (Tensor | Sequence[Tensor]): Per-sample ``point2voxel``
                maps (e.g. from :func:`voxelize_for_sparse_encoder`), one
                (N,) tensor of batch voxel indices, or ``(b, z, y, x)``
                point voxel coordinates (:func:`points_voxel_coors`).
            num_levels (int, optional): Defaults to ``self.num_levels``.

        Returns:
            PointLevels: stages in execution order (index -1: deepest =
            coarsest stage).
        """
        num_levels = num_levels or self.num_levels
        assert 1 <= num_levels <= self.stage_num
        first = self.stage_num - num_levels
        geometries = [
            sum(self.stage_geometries[:i + 1], [])
            for i in range(first, self.stage_num)
        ]
        return map_points_to_levels(out['encode_feats'][first:], geometries,
                                    out['coors'], points, out['spatial_shape'])
