# Copyright (c) HilDA authors. All rights reserved.
from .global_token import GlobalTokenHead, segment_softmax
from .hierarchical_distill_neck import HierarchicalDistillNeck, projection_head

__all__ = [
    'GlobalTokenHead', 'segment_softmax', 'HierarchicalDistillNeck',
    'projection_head'
]
