# Copyright (c) HilDA authors. All rights reserved.
"""Bird's-eye-view pooling of point features and BEV patch masking.

The cells are those of :class:`~projects.HilDA.hilda.structures.BEVGrid`,
the grid the occupancy target uses too, so pooled conditioning and target
align cell for cell.
"""
import math
from typing import Sequence, Tuple

import torch
from torch import Tensor

from ...structures.bev_grid import bev_cell_index, bev_grid_shape


def bev_pool(feats: Tensor,
             xyz: Tensor,
             batch: Tensor,
             batch_size: int,
             point_cloud_range: Sequence[float],
             cell_size: float,
             reduce: str = 'mean') -> Tensor:
    """Scatter point features into a BEV grid (vectorised, any device).

    Points outside ``point_cloud_range`` (x, y and z) are dropped; empty
    cells are 0. The sums are accumulated in float32, also under autocast,
    so that crowded cells keep their precision.

    Args:
        feats (Tensor): (N, C) point (or voxel) features.
        xyz (Tensor): (N, >=3) their coordinates in metres.
        batch (Tensor): (N,) long sample index in ``[0, batch_size)``.
        batch_size (int): Number of samples B.
        point_cloud_range (Sequence[float]): [x_min, y_min, z_min, x_max,
            y_max, z_max] in metres.
        cell_size (float): BEV cell edge in metres.
        reduce (str): ``'mean'`` or ``'max'`` over the points of a cell.

    Returns:
        Tensor: (B, C, H, W) float32 BEV features, row = y, column = x.
    """
    if reduce not in ('mean', 'max'):
        raise ValueError(f"reduce must be 'mean' or 'max', got {reduce!r}")
    if not (feats.shape[0] == xyz.shape[0] == batch.shape[0]):
        raise ValueError('feats, xyz and batch must have the same length, '
                         f'got {feats.shape[0]}, {xyz.shape[0]} and '
                         f'{batch.shape[0]}')
    height, width = bev_grid_shape(point_cloud_range, cell_size)
    channels = feats.shape[1]
    iy, ix, inside = bev_cell_index(xyz, point_cloud_range, cell_size)
    num_cells = batch_size * height * width
    # Points outside go to one extra cell, dropped at the end: no masked
    # copy of the features (nor its backward).
    cell = torch.where(inside, (batch.long() * height + iy) * width + ix,
                       num_cells)
    src = feats.float()
    out = src.new_zeros(num_cells + 1, channels)
    if reduce == 'mean':
        out = out.index_add(0, cell, src)
        count = src.new_zeros(num_cells + 1).index_add(
            0, cell, src.new_ones(cell.shape[0]))
        out = out / count.clamp(min=1).unsqueeze(1)
    else:
        # include_self=False leaves empty cells at their initial 0.
        out = out.scatter_reduce(
            0,
            cell.unsqueeze(1).expand(-1, channels),
            src,
            reduce='amax',
            include_self=False)
    return out[:num_cells].view(batch_size, height, width,
                                channels).permute(0, 3, 1, 2).contiguous()


def sample_bev_patch_mask(xyz: Tensor,
                          batch: Tensor,
                          batch_size: int,
                          point_cloud_range: Sequence[float],
                          cell_size: float,
                          patch_size: int = 4,
                          mask_ratio: float = 0.3) -> Tuple[Tensor, Tensor]:
    """Pick random square BEV patches to hide from the student.

    The grid is tiled by ``patch_size`` x ``patch_size`` cell patches (the
    last row/column of patches may be cut by the border); in every sample
    ``max(1, round(mask_ratio * num_patches))`` of them are masked. A point
    is dropped when its (x, y) falls in a masked cell, whatever its height,
    so nothing of a masked column reaches the student. Uses torch's global
    RNG (seeded by mmengine).

    Args:
        xyz (Tensor): (N, >=3) point coordinates in metres.
        batch (Tensor): (N,) long sample index in ``[0, batch_size)``.
        batch_size (int): Number of samples B.
        point_cloud_range (Sequence[float]): [x_min, y_min, z_min, x_max,
            y_max, z_max] in metres.
        cell_size (float): BEV cell edge in metres.
        patch_size (int): Patch edge in cells. Defaults to 4.
        mask_ratio (float): Fraction of patches masked. Defaults to 0.3.

    Returns:
        tuple[Tensor, Tensor]: ``keep`` (N,) bool, False for the points to
        drop before the student runs, and ``bev_mask`` (B, 1, H, W) float32,
        1 on masked cells.
    """
    if not 0 < mask_ratio <= 1:
        raise ValueError(f'mask_ratio must be in (0, 1], got {mask_ratio}')
    height, width = bev_grid_shape(point_cloud_range, cell_size)
    rows, cols = math.ceil(height / patch_size), math.ceil(width / patch_size)
    num_patches = rows * cols
    num_masked = min(num_patches, max(1, round(mask_ratio * num_patches)))
    scores = torch.rand(batch_size, num_patches, device=xyz.device)
    # Rank of each patch in a random permutation: exactly num_masked per
    # sample, without a Python loop.
    masked = scores.argsort(dim=1).argsort(dim=1) < num_masked
    cells = masked.view(batch_size, rows, cols)
    cells = cells.repeat_interleave(
        patch_size, dim=1).repeat_interleave(
            patch_size, dim=2)[:, :height, :width]
    iy, ix, inside = bev_cell_index(
        xyz, point_cloud_range, cell_size, check_z=False)
    hit = cells[batch.long(), iy.clamp(0, height - 1), ix.clamp(0, width - 1)]
    keep = ~(inside & hit)
    return keep, cells.unsqueeze(1).float()


def voxels_with_points_in(point_hit: Tensor,
                          point2voxel_maps: Sequence[Tensor],
                          voxel_batch: Tensor) -> Tensor:
    """The voxels that hold at least one hit point.

    ``'masked'`` mode drops a voxel when *any* of its points falls in a
    masked BEV cell: a voxel straddling a cell border would otherwise bring
    features from inside a masked cell to the student (deciding by one point
    of the voxel, e.g. its first, leaks).

    Args:
        point_hit (Tensor): (N,) bool over the points of all samples, one
            sample after another (e.g. ``~keep`` of
            :func:`sample_bev_patch_mask`).
        point2voxel_maps (Sequence[Tensor]): Per sample (N_b,) index of each
            point's voxel among that sample's voxels; -1 for a point
            without voxel.
        voxel_batch (Tensor): (M,) long sample index of every voxel, the
            voxels of a sample one after another, samples in order.

    Returns:
        Tensor: (M,) bool, True for a voxel with a hit point.
    """
    sizes = [len(m) for m in point2voxel_maps]
    if sum(sizes) != len(point_hit):
        raise ValueError(f'{len(point_hit)} point flags for point2voxel maps '
                         f'of {sum(sizes)} points')
    counts = torch.bincount(
        voxel_batch.long(), minlength=len(point2voxel_maps))
    starts = torch.cumsum(counts, 0) - counts
    index = torch.cat([
        m.long() + starts[b] if len(m) else m.long()
        for b, m in enumerate(point2voxel_maps)
    ]).to(point_hit.device)
    has_voxel = torch.cat([m.long() >= 0
                           for m in point2voxel_maps]).to(point_hit.device)
    hit = torch.zeros(
        len(voxel_batch), dtype=torch.bool, device=point_hit.device)
    hit[index[point_hit & has_voxel]] = True
    return hit
