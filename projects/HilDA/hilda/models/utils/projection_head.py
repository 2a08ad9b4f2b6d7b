# Copyright (c) HilDA authors. All rights reserved.
from typing import Optional

from torch import nn

HEAD_TYPES = ('linear', 'mlp')


def projection_head(in_channels: int, out_channels: int, head_type: str,
                    hidden_channels: Optional[int]) -> nn.Module:
    """H_l / H_CLS: student channels -> teacher channels.

    Args:
        in_channels (int): Student channels.
        out_channels (int): Teacher channels.
        head_type (str): ``'mlp'`` (the paper's small MLP: Linear,
            LayerNorm, GELU, Linear) or ``'linear'``.
        hidden_channels (int, optional): MLP width; defaults to the larger
            of ``in_channels`` and ``out_channels``.
    """
    if head_type == 'linear':
        return nn.Linear(in_channels, out_channels)
    if head_type == 'mlp':
        hidden = hidden_channels or max(in_channels, out_channels)
        return nn.Sequential(
            nn.Linear(in_channels, hidden), nn.LayerNorm(hidden), nn.GELU(),
            nn.Linear(hidden, out_channels))
    raise ValueError(
        f'head_type must be one of {HEAD_TYPES}, got {head_type!r}')
