# Copyright (c) HilDA authors. All rights reserved.
from .data_preprocessor import HilDADataPreprocessor, unique_voxels
from .pretrain_data_preprocessor import HilDAPretrainDataPreprocessor
from .voxelization import (points_voxel_coors, sparse_shape_from_range,
                           voxelize_for_sparse_encoder)

__all__ = [
    'HilDADataPreprocessor', 'HilDAPretrainDataPreprocessor', 'unique_voxels',
    'points_voxel_coors', 'sparse_shape_from_range',
    'voxelize_for_sparse_encoder'
]
