# Copyright (c) HilDA authors. All rights reserved.
from .multilevel_minkunet import MultiLevelMinkUNet
from .point_sparse_encoder import (PointSparseEncoder, points_voxel_coors,
                                   sparse_shape_from_range,
                                   voxelize_for_sparse_encoder)
from .state_dict_utils import prefixed_state_dict, to_spconv1_layout
from .voxel_to_point import (ConvGeometry, PointLevels, SparseLevel,
                             conv_output_coors, map_points_to_levels,
                             match_coors)

__all__ = [
    'MultiLevelMinkUNet', 'PointSparseEncoder', 'points_voxel_coors',
    'sparse_shape_from_range', 'voxelize_for_sparse_encoder',
    'prefixed_state_dict', 'to_spconv1_layout', 'ConvGeometry', 'SparseLevel',
    'conv_output_coors', 'match_coors', 'PointLevels', 'map_points_to_levels'
]
