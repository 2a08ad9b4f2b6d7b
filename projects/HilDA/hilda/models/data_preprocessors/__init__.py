# Copyright (c) HilDA authors. All rights reserved.
from .data_preprocessor import HilDADataPreprocessor, unique_voxels
from .pretrain_data_preprocessor import HilDAPretrainDataPreprocessor

__all__ = [
    'HilDADataPreprocessor', 'HilDAPretrainDataPreprocessor', 'unique_voxels'
]
