# Copyright (c) HilDA authors. All rights reserved.
from .distributed import global_mean
from .feature_sampling import MapSampler, bilinear_sample, segment_mean
from .grad_norms import loss_grad_norms, loss_grad_shares
from .projection_head import projection_head
from .segment_ops import rowwise_map_segment_max, segment_max, segment_softmax

__all__ = [
    'MapSampler', 'bilinear_sample', 'segment_mean', 'global_mean',
    'loss_grad_norms', 'loss_grad_shares', 'projection_head',
    'rowwise_map_segment_max', 'segment_max', 'segment_softmax'
]
