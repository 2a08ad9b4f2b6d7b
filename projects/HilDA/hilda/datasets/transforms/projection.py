# Copyright (c) HilDA authors. All rights reserved.
"""Point-to-pixel projection for multi-camera rigs (numpy, vectorised).

Conventions: ``lidar2img`` is ``cam2img @ lidar2cam`` as 4x4 matrices
(``cam2img`` may be given 3x3 and is padded); pixel ``(u, v)`` has ``u``
along the image width and ``v`` along the height, with the centre of the
top-left pixel at (0.5, 0.5) as in OpenCV's ``remap``/``grid_sample`` with
``align_corners=False``.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np


def as_4x4(matrix, name: str = 'matrix') -> np.ndarray:
    """Return a 3x3 or 4x4 matrix as 4x4 float64; other shapes raise.

    Args:
        matrix (array-like): 3x3 (e.g. ``cam2img``) or 4x4.
        name (str): What the matrix is, for the error message.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape == (4, 4):
        return m
    if m.shape == (3, 3):
        out = np.eye(4)
        out[:3, :3] = m
        return out
    raise ValueError(f'{name} must be 3x3 or 4x4, got shape {m.shape}')


def lidar2img_matrix(cam2img, lidar2cam) -> np.ndarray:
    """``cam2img @ lidar2cam`` as one 4x4 matrix (cam2img 3x3 or 4x4)."""
    return as_4x4(cam2img, 'cam2img') @ as_4x4(lidar2cam, 'lidar2cam')


def project_points(points: np.ndarray,
                   lidar2img: np.ndarray,
                   img_shapes: Sequence[Tuple[int, int]],
                   min_depth: float = 0.1,
                   occlusion_stride: Optional[int] = None,
                   occlusion_margin: float = 0.5,
                   occlusion_rel: float = 0.05) -> Dict[str, np.ndarray]:
    """Project LiDAR points into every camera and keep valid pairs.

    A pair (point, camera) is kept when the point is at least ``min_depth``
    in front of the camera and its pixel lies inside the image.

    Occlusion (``occlusion_stride`` set): the image is divided into cells of
    ``stride x stride`` pixels (the teacher's feature-map resolution); in
    each cell only points no farther than the nearest point of that cell
    plus ``max(occlusion_margin, occlusion_rel * depth)`` metres are kept,
    because a feature at that cell describes the nearest surface.

    A point visible in several cameras is assigned to one: the camera in
    which its pixel is closest to the image centre (relative to the image
    size), where lens distortion and border effects are smallest.

    Args:
        points (np.ndarray): (N, >=3) points in the LiDAR frame.
        lidar2img (np.ndarray): (C, 4, 4) projection matrices.
        img_shapes (Sequence[tuple[int, int]]): (H, W) of each camera.
        min_depth (float): Minimum depth in front of the camera, metres.
        occlusion_stride (int, optional): Cell size in pixels for the depth
            test; None disables occlusion handling.
        occlusion_margin (float): Absolute depth tolerance, metres.
        occlusion_rel (float): Relative depth tolerance.

    Returns:
        dict[str, np.ndarray]: ``point_idx`` (M,) int64 index into
        ``points``, ``cam_idx`` (M,) int64, ``uv`` (M, 2) float32 pixel
        coordinates, ``depth`` (M,) float32; sorted by ``point_idx``, each
        point at most once.
    """
    lidar2img = np.asarray(lidar2img, dtype=np.float64)
    num_cams = len(lidar2img)
    if lidar2img.shape != (num_cams, 4, 4):
        raise ValueError(
            f'lidar2img must be (C, 4, 4), got {lidar2img.shape}')
    if len(img_shapes) != num_cams:
        raise ValueError(f'{len(img_shapes)} image shapes for {num_cams} '
                         'cameras')
    xyz1 = np.concatenate(
        [points[:, :3].astype(np.float64),
         np.ones((len(points), 1))], 1)
    # (C, N, 4): homogeneous image coordinates of every point in every cam.
    proj = np.einsum('cij,nj->cni', lidar2img, xyz1)
    depth = proj[..., 2]
    in_front = depth > min_depth
    safe_depth = np.where(in_front, depth, 1.0)
    u = proj[..., 0] / safe_depth
    v = proj[..., 1] / safe_depth
    shapes = np.asarray(img_shapes, dtype=np.float64).reshape(num_cams, 2)
    h, w = shapes[:, :1], shapes[:, 1:]
    valid = in_front & (u >= 0) & (u < w) & (v >= 0) & (v < h)

    if occlusion_stride is not None:
        valid &= _visible_after_depth_test(u, v, depth, valid, shapes,
                                           occlusion_stride,
                                           occlusion_margin, occlusion_rel)

    # One camera per point: the one where it is closest to the centre.
    centre_dist = np.maximum(np.abs(u / w - 0.5), np.abs(v / h - 0.5))
    centre_dist = np.where(valid, centre_dist, np.inf)
    best_cam = centre_dist.argmin(0)
    point_idx = np.nonzero(np.isfinite(centre_dist.min(0)))[0]
    cam_idx = best_cam[point_idx]
    return dict(
        point_idx=point_idx.astype(np.int64),
        cam_idx=cam_idx.astype(np.int64),
        uv=np.stack([u[cam_idx, point_idx], v[cam_idx, point_idx]],
                    1).astype(np.float32),
        depth=depth[cam_idx, point_idx].astype(np.float32))


def _visible_after_depth_test(u, v, depth, valid, shapes, stride, margin,
                              rel) -> np.ndarray:
    """(C, N) mask of points not hidden behind a nearer point in their cell.
    """
    cells_w = np.ceil(shapes[:, 1] / stride).astype(np.int64)
    cells_h = np.ceil(shapes[:, 0] / stride).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(cells_w * cells_h)])
    cam, pts = np.nonzero(valid)
    cell = (offsets[cam] + (v[cam, pts] // stride).astype(np.int64) *
            cells_w[cam] + (u[cam, pts] // stride).astype(np.int64))
    d = depth[cam, pts]
    nearest = np.full(offsets[-1], np.inf)
    np.minimum.at(nearest, cell, d)
    keep = d <= nearest[cell] + np.maximum(margin, rel * d)
    visible = np.zeros_like(valid)
    visible[cam[keep], pts[keep]] = True
    return visible
