# Copyright (c) HilDA authors. All rights reserved.
from .multilevel_minkunet import MultiLevelMinkUNet
from .point_sparse_encoder import PointSparseEncoder
from .voxel_to_point import (ConvGeometry, conv_output_coors,
                             map_points_to_levels, match_coors)

__all__ = [
    'MultiLevelMinkUNet', 'PointSparseEncoder', 'ConvGeometry',
    'conv_output_coors', 'match_coors', 'map_points_to_levels'
]
