# Copyright (c) HilDA authors. All rights reserved.
from typing import Any, Callable, Optional, Tuple

import torch
from torch import Tensor

from .base_diffusion_mode import DiffusionMode


class TemporalDiffusionMode(DiffusionMode):
    """``'temporal'`` (the paper's): predict the t+1 occupancy from
    ``[BEV(t-1), BEV(t0)]`` (2C condition channels).

    Samples at a scene's first or last keyframe (the dataset flags
    ``temporal_fallback``: t0 stands in for t-1 or t+1) are no sequence and
    are left out of the loss.
    """

    name = 'temporal'
    uses_prev_scan = True
    masks_input = False
    target_source_key = 'points_next'

    def condition_channels(self, in_channels: int) -> int:
        return 2 * in_channels

    def raw_condition(self, pool: Callable[..., Tensor], bev_t0: Tensor,
                      batch_size: int, grid_shape: Tuple[int, int],
                      feats_prev: Optional[Tensor], xyz_prev: Optional[Tensor],
                      batch_prev: Optional[Tensor],
                      bev_mask: Optional[Tensor]) -> Tensor:
        if feats_prev is None or xyz_prev is None or batch_prev is None:
            raise ValueError("mode='temporal' needs the t-1 features, "
                             'coordinates and batch indices.')
        bev_prev = pool(feats_prev, xyz_prev, batch_prev, batch_size)
        return torch.cat([bev_prev, bev_t0], dim=1)

    def sample_is_valid(self, data_sample: Any) -> bool:
        flags = data_sample.metainfo.get('temporal_fallback', False)
        return not bool(torch.as_tensor(flags).any())
