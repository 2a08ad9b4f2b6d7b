# Copyright (c) HilDA authors. All rights reserved.
import torch.nn.functional as F
from mmdet3d.utils import OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor, nn

from .serialized_points import SerializedPoints


class SerializedAttention(BaseModule):
    """Multi-head self-attention within patches of a serialized order.

    The voxels are taken in the order of one space-filling curve and cut
    into patches of ``patch_size`` consecutive voxels (per sample); each
    voxel attends to the voxels of its patch (PTv3). The last patch of a
    sample is padded; padded entries are masked out as keys, so they never
    reach a real voxel, and their outputs are dropped. Full patches run
    through ``scaled_dot_product_attention`` without a mask (fused kernels
    on GPUs), the padded ones with a key mask.

    Args:
        channels (int): Feature channels.
        num_heads (int): Attention heads (must divide ``channels``).
        patch_size (int): Voxels per patch.
        qkv_bias (bool): Bias of the query/key/value projection.
            Defaults to True.
        attn_drop (float): Dropout on the attention weights (training).
            Defaults to 0.
        proj_drop (float): Dropout after the output projection.
            Defaults to 0.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 channels: int,
                 num_heads: int,
                 patch_size: int,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.0,
                 proj_drop: float = 0.0,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if channels % num_heads:
            raise ValueError(f'{num_heads} heads do not divide {channels} '
                             'channels')
        self.channels = channels
        self.num_heads = num_heads
        self.patch_size = patch_size
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(channels, channels * 3, bias=qkv_bias)
        self.proj = nn.Linear(channels, channels)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, feats: Tensor, points: SerializedPoints,
                order_index: int) -> Tensor:
        """Attend within the patches of order ``order_index``.

        Args:
            feats (Tensor): (M, C) features of the stage's voxels.
            points (SerializedPoints): The stage (orders, patch layout).
            order_index (int): Which of the stage's orders to follow.

        Returns:
            Tensor: (M, C) attention outputs, in the voxels' order.
        """
        layout = points.patch_layout(self.patch_size)
        k = layout.patch_size
        heads, dim = self.num_heads, self.channels // self.num_heads
        # The padded-sequence slot of each voxel in this order.
        slot = layout.slot[points.serialization.inverse[order_index]]
        qkv = self.qkv(feats)
        padded = qkv.new_zeros((layout.num_patches * k, qkv.shape[1]))
        padded = padded.index_copy(0, slot, qkv)
        q, k_, v = padded.view(layout.num_patches, k, 3, heads,
                               dim).permute(2, 0, 3, 1, 4).unbind(0)
        drop = self.attn_drop if self.training else 0.0
        out = q.new_zeros(q.shape)
        if len(layout.full):
            full = layout.full
            out = out.index_copy(
                0, full,
                F.scaled_dot_product_attention(
                    q[full], k_[full], v[full], dropout_p=drop))
        if len(layout.partial):
            part = layout.partial
            # Keys: real entries only; the mask broadcasts over heads and
            # queries (every partial patch holds a real entry, no empty
            # softmax).
            mask = layout.partial_mask[:, None, None, :]
            out = out.index_copy(
                0, part,
                F.scaled_dot_product_attention(
                    q[part], k_[part], v[part], attn_mask=mask,
                    dropout_p=drop))
        out = out.transpose(1, 2).reshape(-1, self.channels)
        return self.proj_drop(self.proj(out.index_select(0, slot)))
