# Copyright (c) HilDA authors. All rights reserved.
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks.drop import DropPath
from mmdet3d.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from spconv.pytorch import SubMConv3d
from torch import Tensor, nn

from .serialized_attention import SerializedAttention
from .serialized_points import SerializedPoints


class PTv3Block(BaseModule):
    """One Point Transformer V3 block (pre-norm).

    ``x = x + xCPE(x)``; ``x = x + DropPath(Attn(LN(x)))``;
    ``x = x + DropPath(MLP(LN(x)))``. xCPE, the conditional positional
    encoding, is a 3x3x3 submanifold sparse convolution followed by a
    linear layer and a norm: it gives the attention, which sees only
    features, the voxels' positions.

    Args:
        channels (int): Feature channels.
        num_heads (int): Attention heads.
        patch_size (int): Voxels per attention patch.
        mlp_ratio (float): Hidden width of the MLP over ``channels``.
            Defaults to 4.
        qkv_bias (bool): Defaults to True.
        attn_drop (float): Defaults to 0.
        proj_drop (float): Defaults to 0.
        drop_path (float): Stochastic depth rate of this block.
            Defaults to 0.
        indice_key (str, optional): spconv key of the stage's submanifold
            neighbourhoods (shared by its blocks, computed once).
        norm_cfg (dict): Norm of the blocks. Defaults to LayerNorm.
        act_cfg (dict): Activation of the MLP. Defaults to GELU.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 channels: int,
                 num_heads: int,
                 patch_size: int,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.0,
                 proj_drop: float = 0.0,
                 drop_path: float = 0.0,
                 indice_key: str = None,
                 norm_cfg: ConfigType = dict(type='LN'),
                 act_cfg: ConfigType = dict(type='GELU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # No conv bias: the linear layer after it has one (the same
        # functions), and spconv's CPU kernels take no bias.
        self.cpe_conv = SubMConv3d(
            channels, channels, 3, bias=False, indice_key=indice_key)
        self.cpe_linear = nn.Linear(channels, channels)
        self.cpe_norm = build_norm_layer(norm_cfg, channels)[1]
        self.norm1 = build_norm_layer(norm_cfg, channels)[1]
        self.attn = SerializedAttention(
            channels,
            num_heads,
            patch_size,
            qkv_bias=qkv_bias,
            attn_drop=attn_drop,
            proj_drop=proj_drop)
        self.norm2 = build_norm_layer(norm_cfg, channels)[1]
        hidden = int(channels * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden), build_activation_layer(act_cfg),
            nn.Dropout(proj_drop), nn.Linear(hidden, channels),
            nn.Dropout(proj_drop))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else \
            nn.Identity()

    def forward(self, points: SerializedPoints, order_index: int) -> Tensor:
        """New features of the stage's voxels.

        Args:
            points (SerializedPoints): The stage, with its current features.
            order_index (int): The serialized order the attention follows.

        Returns:
            Tensor: (M, C) features.
        """
        x = points.feats
        cpe = self.cpe_conv(points.sparse_with(x)).features
        x = x + self.cpe_norm(self.cpe_linear(cpe))
        x = x + self.drop_path(self.attn(self.norm1(x), points, order_index))
        return x + self.drop_path(self.mlp(self.norm2(x)))
