# Copyright (c) HilDA authors. All rights reserved.
from .distributed import global_mean
from .feature_sampling import bilinear_sample, segment_mean
from .grad_norms import loss_grad_norms

__all__ = ['bilinear_sample', 'segment_mean', 'global_mean', 'loss_grad_norms']
