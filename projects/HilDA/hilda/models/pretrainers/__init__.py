# Copyright (c) HilDA authors. All rights reserved.
from .hilda_pretrainer import HilDAPretrainer, drop_voxels

__all__ = ['HilDAPretrainer', 'drop_voxels']
