# Copyright (c) HilDA authors. All rights reserved.
"""The point-pixel projection as first written, kept as the reference the
compiled code must agree with pair for pair: the free-space occlusion
test with per-sample lookups in the range image and no tabulated
tolerance (against
:func:`~projects.HilDA.hilda.datasets.transforms.projection.\
visible_in_free_space`), and numpy's projection of every point into every
camera with the choice of one camera per point (against ``project_points``,
whose pairs are found, tested and chosen in compiled passes)."""
import numpy as np

from projects.HilDA.hilda.datasets.transforms.projection import (
    LidarRangeImage, camera_centres)


def reference_free_space(points,
                         centres,
                         valid,
                         ground=None,
                         num_samples=24,
                         margin=0.3,
                         rel=0.02,
                         neighbours=1,
                         elevation_step=0.2,
                         chunk=200000,
                         **range_image_kwargs):
    """(C, N) bool; arguments as ``visible_in_free_space``."""
    xyz = np.asarray(points[:, :3], dtype=np.float64)
    image = LidarRangeImage(xyz, ground, **range_image_kwargs)
    image.surface_grid(neighbours, np.deg2rad(elevation_step))
    cam, idx = np.nonzero(valid)
    visible = np.zeros(valid.shape, dtype=bool)
    if not len(idx):
        return visible
    start = np.asarray(centres, dtype=np.float64)[cam]
    delta = xyz[idx] - start
    length = np.linalg.norm(delta, axis=1)
    stop = 1.0 - np.maximum(margin, rel * length) / np.maximum(length, 1e-9)
    frac = np.arange(1, num_samples + 1) / (num_samples + 1)
    hidden = np.zeros(len(idx), dtype=bool)
    step = max(1, chunk // num_samples)
    for lo in range(0, len(idx), step):
        sl = slice(lo, lo + step)
        sample = (start[sl, None] + frac[None, :, None] * delta[sl, None])
        surface, sample_range = image.lookup(sample.reshape(-1, 3))
        behind = sample_range > surface + np.maximum(margin, rel * surface)
        behind = behind.reshape(-1, num_samples) & (
            frac[None] < stop[sl, None])
        hidden[sl] = behind.any(1)
    visible[cam[~hidden], idx[~hidden]] = True
    return visible


def reference_pixels(points, lidar2img, img_shapes, min_depth=0.1):
    """(C, N) ``u``, ``v``, ``depth`` and ``in_image`` by numpy."""
    lidar2img = np.asarray(lidar2img, dtype=np.float64)
    xyz = np.asarray(points[:, :3], dtype=np.float64)
    rot, shift = lidar2img[:, :3, :3], lidar2img[:, :3, 3]
    proj = [xyz @ rot[:, k].T + shift[None, :, k] for k in range(3)]
    depth = proj[2].T
    in_front = depth > min_depth
    safe_depth = np.where(in_front, depth, 1.0)
    u, v = proj[0].T / safe_depth, proj[1].T / safe_depth
    shapes = np.asarray(img_shapes, dtype=np.float64).reshape(-1, 2)
    h, w = shapes[:, :1], shapes[:, 1:]
    in_image = in_front & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    return u, v, depth, in_image


def reference_pairs(points,
                    lidar2img,
                    img_shapes,
                    min_depth=0.1,
                    free_space=None,
                    ground=None,
                    seen=None):
    """``project_points`` by numpy: the free-space test of every pair
    inside the images (:func:`reference_free_space`, None: no test), then
    per point the camera where the pixel is closest to the image centre
    (the first on a tie)."""
    u, v, depth, valid = reference_pixels(points, lidar2img, img_shapes,
                                          min_depth)
    if free_space is not None:
        valid = valid & reference_free_space(points, camera_centres(lidar2img),
                                             valid, ground, **free_space)
    if seen is not None:
        valid = valid & seen
    shapes = np.asarray(img_shapes, dtype=np.float64).reshape(-1, 2)
    dist = np.maximum(
        np.abs(u / shapes[:, 1:] - 0.5), np.abs(v / shapes[:, :1] - 0.5))
    dist[~valid] = np.inf
    best = dist.argmin(0)  # the first camera on a tie
    point_idx = np.nonzero(valid.any(0))[0]
    cam_idx = best[point_idx]
    return dict(
        point_idx=point_idx,
        cam_idx=cam_idx,
        uv=np.stack([u[cam_idx, point_idx], v[cam_idx, point_idx]],
                    1).astype(np.float32),
        depth=depth[cam_idx, point_idx].astype(np.float32))
