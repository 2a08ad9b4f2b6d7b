# Copyright (c) HilDA authors. All rights reserved.
from .backbones import (MultiLevelMinkUNet, MultiLevelPTv3, PointSparseEncoder,
                        PointTransformerV3)
from .data_preprocessors import (HilDADataPreprocessor,
                                 HilDAPretrainDataPreprocessor,
                                 points_voxel_coors, sparse_shape_from_range,
                                 voxelize_for_sparse_encoder)
from .heads import (GlobalTokenHead, HierarchicalDistillHead,
                    OccupancyDiffusionHead, bev_pool, sample_bev_patch_mask)
from .losses import (CosineDistanceLoss, FeatureMSELoss, NormalizedL2Loss,
                     SuperpixelInfoNCELoss)
from .pretrainers import HilDAPretrainer
from .teachers import BaseImageTeacher, DINOv2Teacher, EfficientNetLiteTeacher

__all__ = [
    'MultiLevelMinkUNet', 'MultiLevelPTv3', 'PointSparseEncoder',
    'PointTransformerV3', 'points_voxel_coors', 'sparse_shape_from_range',
    'voxelize_for_sparse_encoder', 'HilDADataPreprocessor',
    'HilDAPretrainDataPreprocessor', 'OccupancyDiffusionHead', 'bev_pool',
    'sample_bev_patch_mask', 'GlobalTokenHead', 'HierarchicalDistillHead',
    'CosineDistanceLoss', 'FeatureMSELoss', 'NormalizedL2Loss',
    'SuperpixelInfoNCELoss', 'HilDAPretrainer', 'BaseImageTeacher',
    'DINOv2Teacher', 'EfficientNetLiteTeacher'
]
