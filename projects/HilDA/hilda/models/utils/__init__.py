# Copyright (c) HilDA authors. All rights reserved.
from .distributed import global_mean
from .feature_sampling import bilinear_sample, segment_mean

__all__ = ['bilinear_sample', 'segment_mean', 'global_mean']
