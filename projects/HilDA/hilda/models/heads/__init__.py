# Copyright (c) HilDA authors. All rights reserved.
from .bev_pooling import (bev_cell_index, bev_grid_shape, bev_pool,
                          sample_bev_patch_mask)
from .global_token_head import GlobalTokenHead
from .hierarchical_distill_head import HierarchicalDistillHead
from .occupancy_diffusion_head import OccupancyDiffusionHead

__all__ = [
    'GlobalTokenHead', 'HierarchicalDistillHead', 'OccupancyDiffusionHead',
    'bev_cell_index', 'bev_grid_shape', 'bev_pool', 'sample_bev_patch_mask'
]
