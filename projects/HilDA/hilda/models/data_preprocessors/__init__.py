# Copyright (c) HilDA authors. All rights reserved.
from .data_preprocessor import HilDADataPreprocessor, unique_voxels

__all__ = ['HilDADataPreprocessor', 'unique_voxels']
