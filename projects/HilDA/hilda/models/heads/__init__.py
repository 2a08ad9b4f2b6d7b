# Copyright (c) HilDA authors. All rights reserved.
from .bev_pooling import bev_pool, sample_bev_patch_mask, voxels_with_points_in
from .forward_diffusion import ForwardDiffusion, sample_noise_seed
from .global_token_head import GlobalTokenHead
from .hierarchical_distill_head import HierarchicalDistillHead
from .occupancy_decoder_head import OccupancyDecoderHead
from .occupancy_diffusion_head import OccupancyDiffusionHead
from .reverse_diffusion_sampler import ReverseDiffusionSampler

__all__ = [
    'ForwardDiffusion', 'GlobalTokenHead', 'HierarchicalDistillHead',
    'OccupancyDecoderHead', 'OccupancyDiffusionHead',
    'ReverseDiffusionSampler', 'bev_pool',
    'sample_bev_patch_mask', 'sample_noise_seed', 'voxels_with_points_in'
]
