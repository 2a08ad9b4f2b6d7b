# Copyright (c) HilDA authors. All rights reserved.
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


class MapSampler:
    """Bilinear sampling of (N, D, h, w) feature maps at pixel coordinates.

    A feature cell ``j`` covers input pixels ``[j*s, (j+1)*s)`` (``s`` =
    image size / map size) and describes their centre, so pixel ``u`` sits
    at map coordinate ``u / s - 0.5``; coordinates beyond the outer cell
    centres are clamped. This is ``grid_sample(align_corners=False,
    padding_mode='border')`` for queries spread over many images, without
    a per-image loop: the four neighbour cells and their weights go to one
    ``embedding_bag`` (a fused gather + weighted sum instead of four
    gathers and the blend: no (P, D) temporaries). The maps are laid out as
    a table once, so that queries can come in chunks.

    Args:
        feature_maps (Tensor): (N, D, h, w) maps of N images.
        image_size (tuple[int, int]): (H, W) of the input image the maps
            were computed from.
    """

    def __init__(self, feature_maps: Tensor, image_size: Tuple[int,
                                                               int]) -> None:
        num, self.dims, self.h, self.w = feature_maps.shape
        self.dtype = torch.promote_types(feature_maps.dtype, torch.float32)
        self.scale = (self.w / image_size[1], self.h / image_size[0])
        cells = feature_maps.permute(0, 2, 3, 1)
        self.table = cells.reshape(num * self.h * self.w,
                                   self.dims).to(self.dtype)

    def __call__(self, img_idx: Tensor, uv: Tensor) -> Tensor:
        """Sample the maps at query pixels.

        Args:
            img_idx (Tensor): (P,) long, which image each query belongs to.
            uv (Tensor): (P, 2) pixel coordinates (u along the width, v
                along the height) in the input image.

        Returns:
            Tensor: (P, D) features; float32 for half-precision maps (the
            blend is accumulated in float32), else the maps' dtype.
        """
        h, w = self.h, self.w
        if uv.numel() == 0:
            return self.table.new_zeros((0, self.dims))
        x = (uv[:, 0].float() * self.scale[0] - 0.5).clamp(0, w - 1)
        y = (uv[:, 1].float() * self.scale[1] - 0.5).clamp(0, h - 1)
        x0 = x.floor().long().clamp(max=w - 1)
        y0 = y.floor().long().clamp(max=h - 1)
        x1 = (x0 + 1).clamp(max=w - 1)
        y1 = (y0 + 1).clamp(max=h - 1)
        wx = x - x0
        wy = y - y0
        base = img_idx.long() * (h * w)
        corners = torch.stack([
            base + y0 * w + x0, base + y0 * w + x1, base + y1 * w + x0,
            base + y1 * w + x1
        ], 1)
        weights = torch.stack([(1 - wx) * (1 - wy), wx * (1 - wy),
                               (1 - wx) * wy, wx * wy], 1)
        return F.embedding_bag(
            corners,
            self.table,
            per_sample_weights=weights.to(self.dtype),
            mode='sum')


def bilinear_sample(feature_maps: Tensor, img_idx: Tensor, uv: Tensor,
                    image_size: Tuple[int, int]) -> Tensor:
    """Sample (N, D, h, w) feature maps bilinearly at pixel coordinates
    (:class:`MapSampler`).

    Args:
        feature_maps (Tensor): (N, D, h, w) maps of N images.
        img_idx (Tensor): (P,) long, which image each query belongs to.
        uv (Tensor): (P, 2) pixel coordinates (u along width, v along
            height) in the input image the maps were computed from.
        image_size (tuple[int, int]): (H, W) of that input image.

    Returns:
        Tensor: (P, D) sampled features; float32 for half-precision maps,
        else the maps' dtype.
    """
    return MapSampler(feature_maps, image_size)(img_idx, uv)


def segment_mean(values: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """Mean of ``values`` (P, D) per segment id in ``[0, num_segments)``."""
    sums = values.new_zeros((num_segments, values.shape[1]))
    sums.index_add_(0, segment, values)
    counts = torch.bincount(segment, minlength=num_segments).clamp(min=1)
    return sums / counts.unsqueeze(1).to(values.dtype)
