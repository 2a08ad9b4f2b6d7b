# Copyright (c) HilDA authors. All rights reserved.
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from .base_diffusion_mode import DiffusionMode


class MaskedDiffusionMode(DiffusionMode):
    """``'masked'`` (the project's option): the points of random BEV
    patches are dropped from t0 before the student runs; the condition is
    ``[BEV(t0), bev_mask]`` (C + 1 channels), the target the t0 occupancy.

    The denoiser sees x_t only in the masked cells, the loss counts only
    them, and every sample takes part (no sequence is needed).
    """

    name = 'masked'
    uses_prev_scan = False
    masks_input = True
    target_source_key = 'points'

    def condition_channels(self, in_channels: int) -> int:
        return in_channels + 1

    def raw_condition(self, pool: Callable[..., Tensor], bev_t0: Tensor,
                      batch_size: int, grid_shape: Tuple[int, int],
                      feats_prev: Optional[Tensor], xyz_prev: Optional[Tensor],
                      batch_prev: Optional[Tensor],
                      bev_mask: Optional[Tensor]) -> Tensor:
        self.check_mask(bev_mask, (batch_size, 1) + tuple(grid_shape))
        return torch.cat([bev_t0, bev_mask.to(bev_t0.dtype)], dim=1)

    def denoiser_input(self, noisy: Tensor,
                       bev_mask: Optional[Tensor]) -> Tensor:
        self.check_mask(bev_mask, (noisy.shape[0], 1) + noisy.shape[2:])
        return noisy * bev_mask.to(noisy.dtype)

    def output(self, occupancy: Tensor, bev_mask: Optional[Tensor]) -> Tensor:
        # Only the masked cells are predicted; the others are 0 (unknown).
        return occupancy * bev_mask.float()

    def cell_weight(self, valid: Tensor, bev_mask: Optional[Tensor]) -> Tensor:
        return bev_mask.float()

    def _given_valid(self, valid: Tensor) -> Tensor:
        return torch.ones_like(valid)

    @staticmethod
    def check_mask(bev_mask: Optional[Tensor], expected: tuple) -> None:
        """Raise unless ``bev_mask`` has the (B, 1, H, W) ``expected``."""
        expected = tuple(int(v) for v in expected)
        if bev_mask is None or tuple(bev_mask.shape) != expected:
            got = None if bev_mask is None else tuple(bev_mask.shape)
            raise ValueError(f"mode='masked' needs bev_mask of shape "
                             f'{expected} (from sample_bev_patch_mask), got '
                             f'{got}.')
