# Copyright (c) HilDA authors. All rights reserved.
from .multilevel_minkunet import MultiLevelMinkUNet
from .multilevel_ptv3 import MultiLevelPTv3
from .point_sparse_encoder import PointSparseEncoder
from .ptv3 import PointTransformerV3
from .voxel_to_point import (ConvGeometry, conv_output_coors,
                             map_points_to_levels, match_coors)

__all__ = [
    'MultiLevelMinkUNet', 'MultiLevelPTv3', 'PointSparseEncoder',
    'PointTransformerV3', 'ConvGeometry', 'conv_output_coors', 'match_coors',
    'map_points_to_levels'
]
