# Copyright (c) HilDA authors. All rights reserved.
from typing import Any, Callable, Optional, Sequence, Tuple

import torch
from torch import Tensor


class DiffusionMode:
    """What an occupancy-diffusion mode decides, in one place.

    The occupancy heads and the pre-trainer ask their mode, never its
    name: which scans the student must see, how many channels the
    condition has and how it is built, which cells and samples the loss
    counts, and what the denoiser sees of the noisy occupancy. A mode is
    stateless; the head holds one (``head.diffusion_mode``).

    Attributes:
        name (str): The config value (``mode=...`` of the head).
        uses_prev_scan (bool): The condition needs the t-1 scan, so the
            data preprocessor voxelises it and the student runs on it.
        masks_input (bool): Random BEV patches are hidden from the student
            before it runs (the pre-trainer asks the head for them).
        target_source_key (str): The scan ``BEVOccupancyTarget`` makes the
            target from (``source_key``).
    """

    name = ''
    uses_prev_scan = False
    masks_input = False
    target_source_key = 'points'

    def condition_channels(self, in_channels: int) -> int:
        """Channels of the raw condition for C = ``in_channels``."""
        raise NotImplementedError

    def raw_condition(self, pool: Callable[..., Tensor], bev_t0: Tensor,
                      batch_size: int, grid_shape: Tuple[int, int],
                      feats_prev: Optional[Tensor], xyz_prev: Optional[Tensor],
                      batch_prev: Optional[Tensor],
                      bev_mask: Optional[Tensor]) -> Tensor:
        """The (B, condition_channels, H, W) map before the conditioning
        conv, from the pooled t0 features ``bev_t0`` (B, C, H, W);
        ``pool(feats, xyz, batch, batch_size)`` pools other points."""
        raise NotImplementedError

    def denoiser_input(self, noisy: Tensor,
                       bev_mask: Optional[Tensor]) -> Tensor:
        """What the denoiser sees of the noisy occupancy x_t."""
        return noisy

    def output(self, occupancy: Tensor, bev_mask: Optional[Tensor]) -> Tensor:
        """A predicted (B, K, H, W) occupancy as the mode defines it."""
        return occupancy

    def cell_weight(self, valid: Tensor, bev_mask: Optional[Tensor]) -> Tensor:
        """Weight of every cell of the N loss rows (0: left out), from the
        rows' (N,) ``valid`` and (N, 1, H, W) ``bev_mask``; broadcastable
        to (N, K, H, W)."""
        # Weighted 0, not removed: the denoiser still runs on every sample,
        # so every rank uses every parameter (DDP).
        return valid.float().view(-1, 1, 1, 1)

    def sample_is_valid(self, data_sample: Any) -> bool:
        """Whether a sample takes part in the loss (by its metainfo)."""
        return True

    def valid_samples(self,
                      batch_size: int,
                      data_samples: Optional[Sequence[Any]] = None,
                      valid: Optional[Tensor] = None,
                      device=None) -> Tensor:
        """(B,) bool: ``valid`` where the mode reads it, else the samples
        that :meth:`sample_is_valid` accepts (all without samples)."""
        if valid is not None:
            valid = torch.as_tensor(valid, dtype=torch.bool, device=device)
            if valid.shape != (batch_size, ):
                raise ValueError(f'valid has shape {tuple(valid.shape)}, '
                                 f'expected ({batch_size},)')
            return self._given_valid(valid)
        flags = [True] * batch_size
        if data_samples is not None:
            flags = [self.sample_is_valid(s) for s in data_samples]
        return torch.tensor(flags, dtype=torch.bool, device=device)

    def _given_valid(self, valid: Tensor) -> Tensor:
        return valid

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
