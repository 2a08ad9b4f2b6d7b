# Copyright (c) HilDA authors. All rights reserved.
from typing import Dict, List, Sequence, Union

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet3d.registry import MODELS
from mmdet3d.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from spconv.pytorch import SparseConvTensor, SubMConv3d
from torch import Tensor, nn

from ...structures import SparseLevel
from ..layers import GridPooling, GridUnpooling, PTv3Block, SerializedPoints
from ..utils.serialization import ORDERS, serialize

IntOrSeq = Union[int, Sequence[int]]


def _per_stage(value: IntOrSeq, num: int, name: str) -> List[int]:
    """``value`` for each of ``num`` stages (an int is repeated)."""
    values = [value] * num if isinstance(value, int) else list(value)
    if len(values) != num:
        raise ValueError(f'{name} needs {num} values, got {values}')
    return values


@MODELS.register_module()
class PointTransformerV3(BaseModule):
    """Point Transformer V3 (Wu et al., CVPR 2024) on voxels, for mmdet3d.

    Written for this project from the paper's description (Pointcept's
    ``PT-v3m1`` is the reference implementation): the voxels are
    serialized along space-filling curves (z-order and Hilbert, plain and
    transposed); each block attends within patches of ``patch_size``
    consecutive voxels of one order, the blocks of a stage cycling through
    the orders (shuffled per stage and step in training); a sparse-conv
    positional encoding (xCPE) precedes each attention; grid pooling and
    unpooling connect a U-Net of ``len(enc_depths)`` stages.

    Inputs and output are those of mmdet3d's ``MinkUNetBackbone``: it takes
    the (M, C) voxel features and (M, 4) batch-first ``(b, x, y, z)``
    coordinates of ``Det3DDataPreprocessor``'s ``voxel_type='minkunet'``
    (``batch_first=True``) and returns (M, dec_channels[0]) voxel features,
    so mmdet3d's ``MinkUNet`` segmentor with ``MinkUNetHead`` (a linear
    classifier) runs it as is. :class:`MultiLevelPTv3` (same parameters)
    returns every decoder stage for HilDA pre-training.

    The defaults are PTv3's published outdoor (nuScenes) configuration.

    Args:
        in_channels (int): Input voxel feature channels. Defaults to 4.
        orders (Sequence[str]): Serialization curves. Defaults to
            ('z', 'z-trans', 'hilbert', 'hilbert-trans').
        strides (Sequence[int]): Pooling stride between encoder stages.
            Defaults to (2, 2, 2, 2).
        enc_depths (Sequence[int]): Blocks per encoder stage.
            Defaults to (2, 2, 2, 6, 2).
        enc_channels (Sequence[int]): Defaults to (32, 64, 128, 256, 512).
        enc_num_heads (Sequence[int]): Defaults to (2, 4, 8, 16, 32).
        enc_patch_size (int | Sequence[int]): Defaults to 1024.
        dec_depths (Sequence[int]): Blocks per decoder stage, indexed by the
            encoder stage it returns to (index 0: the finest).
            Defaults to (2, 2, 2, 2).
        dec_channels (Sequence[int]): Defaults to (64, 64, 128, 256).
        dec_num_heads (Sequence[int]): Defaults to (4, 4, 8, 16).
        dec_patch_size (int | Sequence[int]): Defaults to 1024.
        mlp_ratio (float): Defaults to 4.
        qkv_bias (bool): Defaults to True.
        attn_drop (float): Defaults to 0.
        proj_drop (float): Defaults to 0.
        drop_path (float): Largest stochastic-depth rate (linear over the
            blocks). Defaults to 0.3.
        shuffle_orders (bool): Shuffle the orders of each stage in training
            (in eval the orders keep their configured sequence, so the
            output is deterministic). Defaults to True.
        norm_cfg (dict): Norm of the stem, pooling and unpooling.
            Defaults to BN1d (eps 1e-3, momentum 0.01).
        block_norm_cfg (dict): Norm in the blocks. Defaults to LayerNorm.
        act_cfg (dict): Defaults to GELU.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 4,
                 orders: Sequence[str] = ORDERS,
                 strides: Sequence[int] = (2, 2, 2, 2),
                 enc_depths: Sequence[int] = (2, 2, 2, 6, 2),
                 enc_channels: Sequence[int] = (32, 64, 128, 256, 512),
                 enc_num_heads: Sequence[int] = (2, 4, 8, 16, 32),
                 enc_patch_size: IntOrSeq = 1024,
                 dec_depths: Sequence[int] = (2, 2, 2, 2),
                 dec_channels: Sequence[int] = (64, 64, 128, 256),
                 dec_num_heads: Sequence[int] = (4, 4, 8, 16),
                 dec_patch_size: IntOrSeq = 1024,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.0,
                 proj_drop: float = 0.0,
                 drop_path: float = 0.3,
                 shuffle_orders: bool = True,
                 norm_cfg: ConfigType = dict(
                     type='BN1d', eps=1e-3, momentum=0.01),
                 block_norm_cfg: ConfigType = dict(type='LN'),
                 act_cfg: ConfigType = dict(type='GELU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        num_stages = len(enc_depths)
        per_stage = dict(
            enc_channels=enc_channels, enc_num_heads=enc_num_heads)
        between_stages = dict(
            strides=strides,
            dec_depths=dec_depths,
            dec_channels=dec_channels,
            dec_num_heads=dec_num_heads)
        for name, values in per_stage.items():
            if len(values) != num_stages:
                raise ValueError(
                    f'{name} needs {num_stages} values, got {values}')
        for name, values in between_stages.items():
            if len(values) != num_stages - 1:
                raise ValueError(f'{name} needs {num_stages - 1} values (one '
                                 f'per stage after the first), got {values}')
        unknown = set(orders) - set(ORDERS)
        if not orders or unknown:
            raise ValueError(f'orders must be taken from {ORDERS}, got '
                             f'{tuple(orders)}')
        self.num_stages = num_stages
        self.orders = tuple(orders)
        self.strides = tuple(strides)
        self.enc_channels = tuple(enc_channels)
        self.dec_channels = tuple(dec_channels)
        self.shuffle_orders = shuffle_orders
        enc_patch = _per_stage(enc_patch_size, num_stages, 'enc_patch_size')
        dec_patch = _per_stage(dec_patch_size, num_stages - 1,
                               'dec_patch_size')

        self.stem_conv = SubMConv3d(
            in_channels, enc_channels[0], 5, bias=False, indice_key='stem')
        self.stem_norm = build_norm_layer(norm_cfg, enc_channels[0])[1]
        self.stem_act = build_activation_layer(act_cfg)

        def blocks(depth, channels, heads, patch, rates, key):
            return nn.ModuleList(
                PTv3Block(
                    channels,
                    heads,
                    patch,
                    mlp_ratio=mlp_ratio,
                    qkv_bias=qkv_bias,
                    attn_drop=attn_drop,
                    proj_drop=proj_drop,
                    drop_path=rates[i],
                    indice_key=key,
                    norm_cfg=block_norm_cfg,
                    act_cfg=act_cfg) for i in range(depth))

        rates = torch.linspace(0, drop_path, sum(enc_depths)).tolist()
        self.enc = nn.ModuleList()
        for s in range(num_stages):
            stage = nn.Module()
            if s > 0:
                stage.down = GridPooling(
                    enc_channels[s - 1],
                    enc_channels[s],
                    strides[s - 1],
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg)
            first = sum(enc_depths[:s])
            stage.blocks = blocks(enc_depths[s], enc_channels[s],
                                  enc_num_heads[s], enc_patch[s],
                                  rates[first:first + enc_depths[s]],
                                  f'stage{s}')
            self.enc.append(stage)

        rates = torch.linspace(0, drop_path, sum(dec_depths)).tolist()
        coarser = list(dec_channels[1:]) + [enc_channels[-1]]
        self.dec = nn.ModuleList()
        for s in range(num_stages - 1):
            stage = nn.Module()
            stage.up = GridUnpooling(
                coarser[s],
                enc_channels[s],
                dec_channels[s],
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)
            first = sum(dec_depths[:s])
            stage.blocks = blocks(dec_depths[s], dec_channels[s],
                                  dec_num_heads[s], dec_patch[s],
                                  rates[first:first + dec_depths[s]][::-1],
                                  f'stage{s}')
            self.dec.append(stage)

    @property
    def stage_strides(self) -> tuple:
        """Voxel size of each encoder stage in input voxels."""
        strides = [1]
        for s in self.strides:
            strides.append(strides[-1] * s)
        return tuple(strides)

    def _serialized(self, feats: Tensor, coors: Tensor,
                    sparse: SparseConvTensor, stride: int) -> SerializedPoints:
        """A stage's voxels in the configured orders (shuffled in
        training)."""
        serialization = serialize(coors, self.orders)
        if self.training and self.shuffle_orders and len(self.orders) > 1:
            serialization = serialization.permute(
                torch.randperm(len(self.orders)).tolist())
        return SerializedPoints(feats, coors, serialization, sparse, stride)

    @staticmethod
    def _run_blocks(blocks: nn.ModuleList, points: SerializedPoints) -> None:
        for i, block in enumerate(blocks):
            points.feats = block(points, i % len(points.serialization.names))

    def forward_stages(self, voxel_features: Tensor,
                       coors: Tensor) -> Dict[str, Union[Tensor, list, dict]]:
        """Run the network and keep every decoder stage.

        Args:
            voxel_features (Tensor): (M, C) voxel features.
            coors (Tensor): (M, 4) int voxel coordinates, batch first, then
                (x, y, z), non-negative (``batch_first=True`` voxelisation).

        Returns:
            dict: ``decoder_feats`` (list[SparseLevel], execution order:
            coarsest first, the last one at the input voxels),
            ``voxel_feats`` ((M, dec_channels[0]) features of the last
            stage), ``bottleneck`` (dict of ``feats``, ``coors``,
            ``stride``: the deepest encoder stage), ``coors`` (the input
            coordinates), ``inverses`` (per encoder stage ``s >= 1``, the
            stage-``s`` voxel of each stage ``s - 1`` voxel; entry 0 is
            None) and ``spatial_shape``.
        """
        coors = coors.int()
        spatial_shape = [int(n) for n in coors[:, 1:].max(0)[0] + 1]
        batch_size = int(coors[:, 0].max()) + 1
        sparse = SparseConvTensor(voxel_features, coors, spatial_shape,
                                  batch_size)
        sparse = self.stem_conv(sparse)
        feats = self.stem_act(self.stem_norm(sparse.features))
        points = self._serialized(feats, coors, sparse, 1)

        stages, inverses = [], [None]
        for s, stage in enumerate(self.enc):
            if s > 0:
                feats, coarse, inverse = stage.down(points.feats, points.coors)
                shape = (coarse[:, 1:].max(0)[0] + 1).tolist()
                sparse = SparseConvTensor(feats, coarse, shape, batch_size)
                points = self._serialized(feats, coarse, sparse,
                                          points.stride * self.strides[s - 1])
                inverses.append(inverse)
            self._run_blocks(stage.blocks, points)
            stages.append(points)
        bottleneck = dict(
            feats=points.feats,
            coors=points.coors,
            stride=(points.stride, ) * 3)

        decoder_feats: List[SparseLevel] = []
        for s in reversed(range(self.num_stages - 1)):
            stage = self.dec[s]
            skip = stages[s]
            points = skip.with_feats(
                stage.up(points.feats, skip.feats, inverses[s + 1]))
            self._run_blocks(stage.blocks, points)
            decoder_feats.append(
                SparseLevel(points.feats, points.coors, (points.stride, ) * 3))
        return dict(
            decoder_feats=decoder_feats,
            voxel_feats=decoder_feats[-1].feats,
            bottleneck=bottleneck,
            coors=coors,
            inverses=inverses,
            spatial_shape=spatial_shape)

    def forward(self, voxel_features: Tensor, coors: Tensor) -> Tensor:
        """(M, dec_channels[0]) features of the input voxels, as mmdet3d's
        ``MinkUNetBackbone`` returns them."""
        return self.forward_stages(voxel_features, coors)['voxel_feats']
