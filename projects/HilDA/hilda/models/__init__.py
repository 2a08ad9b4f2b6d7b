# Copyright (c) HilDA authors. All rights reserved.
from .data_preprocessors import (HilDADataPreprocessor,
                                 HilDAPretrainDataPreprocessor)
from .heads import OccupancyDiffusionHead, bev_pool, sample_bev_patch_mask
from .necks import GlobalTokenHead, HierarchicalDistillNeck

__all__ = [
    'HilDADataPreprocessor', 'HilDAPretrainDataPreprocessor',
    'OccupancyDiffusionHead', 'bev_pool', 'sample_bev_patch_mask',
    'GlobalTokenHead', 'HierarchicalDistillNeck'
]
