# Copyright (c) HilDA authors. All rights reserved.
"""Voxelisation for the SparseEncoder student on any device.

SparseEncoder (SECOND / CenterPoint ``pts_middle_encoder``) wants voxel
coordinates in ``(b, z, y, x)`` order on a fixed grid given by a point-cloud
range and a voxel size (``sparse_shape = [gz + 1, gy, gx]``, the extra z
cell being SECOND's convention). The data preprocessor voxelises with
:func:`voxelize_for_sparse_encoder`; :func:`points_voxel_coors` gives the
points' voxels for :meth:`PointSparseEncoder.point_levels` when another
voxeliser (mmdet3d's hard voxelisation) made the voxels.
"""
from typing import Dict, List, Sequence

import torch
from torch import Tensor


def _grid_size(point_cloud_range: Sequence[float],
               voxel_size: Sequence[float]) -> List[int]:
    """Voxels per axis (x, y, z), rounded as mmcv's ``Voxelization``."""
    return [
        int(
            round((point_cloud_range[i + 3] - point_cloud_range[i]) /
                  voxel_size[i])) for i in range(3)
    ]


def sparse_shape_from_range(point_cloud_range: Sequence[float],
                            voxel_size: Sequence[float]) -> List[int]:
    """SparseEncoder's ``sparse_shape`` ``[gz + 1, gy, gx]`` for a grid.

    E.g. CenterPoint nuScenes: ``[-51.2, -51.2, -5, 51.2, 51.2, 3]`` with
    ``[0.1, 0.1, 0.2]`` gives ``[41, 1024, 1024]``.
    """
    gx, gy, gz = _grid_size(point_cloud_range, voxel_size)
    return [gz + 1, gy, gx]


def points_voxel_coors(points: Sequence[Tensor],
                       point_cloud_range: Sequence[float],
                       voxel_size: Sequence[float]) -> List[Tensor]:
    """Per-sample ``(b, z, y, x)`` voxel coordinates of every point.

    Voxel indices are ``floor((p - range_min) / voxel_size)`` as in mmcv's
    ``Voxelization``; points outside the range get the row ``(-1, -1, -1,
    -1)``.

    Args:
        points (Sequence[Tensor]): Per sample (N_i, C) points, xyz first.
        point_cloud_range (Sequence[float]): [x0, y0, z0, x1, y1, z1].
        voxel_size (Sequence[float]): [vx, vy, vz].

    Returns:
        list[Tensor]: (N_i, 4) long coordinates.
    """
    out = []
    for i, pts in enumerate(points):
        low = pts.new_tensor(point_cloud_range[:3])
        size = pts.new_tensor(voxel_size)
        grid = torch.tensor(
            _grid_size(point_cloud_range, voxel_size), device=pts.device)
        xyz = torch.floor((pts[:, :3] - low) / size).long()
        inside = ((xyz >= 0) & (xyz < grid)).all(1)
        coors = torch.cat([xyz.new_full((len(xyz), 1), i), xyz.flip(1)], 1)
        out.append(torch.where(inside[:, None], coors, -1))
    return out


def voxelize_for_sparse_encoder(points: Sequence[Tensor],
                                point_cloud_range: Sequence[float],
                                voxel_size: Sequence[float]) -> Dict:
    """Voxelise a batch for :class:`PointSparseEncoder` on any device.

    Args:
        points (Sequence[Tensor]): Per sample (N_i, C) points, xyz first.
        point_cloud_range (Sequence[float]): [x0, y0, z0, x1, y1, z1].
        voxel_size (Sequence[float]): [vx, vy, vz].

    Returns:
        dict: ``voxels`` (M, C) mean point features, ``coors`` (M, 4) int32
        ``(b, z, y, x)`` sorted (samples one after the other),
        ``point2voxel`` (list of (N_i,) long indices into each sample's
        voxels, -1 outside the range), ``sparse_shape`` and ``batch_size``.
    """
    point_coors = points_voxel_coors(points, point_cloud_range, voxel_size)
    all_coors = torch.cat(point_coors)
    all_feats = torch.cat(list(points))
    inside = all_coors[:, 0] >= 0
    coors, inverse = torch.unique(
        all_coors[inside], dim=0, return_inverse=True)
    counts = torch.bincount(inverse, minlength=len(coors)).clamp(min=1)
    voxels = all_feats.new_zeros(len(coors), all_feats.shape[1])
    voxels.index_add_(0, inverse, all_feats[inside])
    voxels = voxels / counts[:, None].to(voxels.dtype)

    # Back to per-sample indices, as HilDADataPreprocessor stores them.
    global_map = torch.full_like(all_coors[:, 0], -1)
    global_map[inside] = inverse
    per_sample = torch.bincount(coors[:, 0], minlength=len(points))
    offsets = (torch.cumsum(per_sample, 0) - per_sample).tolist()
    point2voxel = []
    for i, local in enumerate(global_map.split([len(p) for p in points])):
        point2voxel.append(torch.where(local >= 0, local - offsets[i], local))
    return dict(
        voxels=voxels,
        coors=coors.int(),
        point2voxel=point2voxel,
        sparse_shape=sparse_shape_from_range(point_cloud_range, voxel_size),
        batch_size=len(points))
