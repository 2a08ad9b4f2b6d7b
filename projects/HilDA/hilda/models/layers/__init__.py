# Copyright (c) HilDA authors. All rights reserved.
from .grid_pooling import GridPooling
from .grid_unpooling import GridUnpooling
from .ptv3_block import PTv3Block
from .serialized_attention import SerializedAttention
from .serialized_points import SerializedPoints

__all__ = [
    'GridPooling', 'GridUnpooling', 'PTv3Block', 'SerializedAttention',
    'SerializedPoints'
]
