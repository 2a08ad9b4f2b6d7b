# Copyright (c) HilDA authors. All rights reserved.
"""Vectorised ray casting against the ground plane and oriented boxes.

Both sensors (the LiDAR and every camera) shoot many rays from one origin,
so boxes can be culled by angle: a ray can only hit a box if it points
into the cone around the box's bounding sphere. Culling runs per batch of
neighbouring rays (the batch's own cone) and then per ray (one dot
product); the exact slab test runs only on the surviving pairs.
"""
from typing import Dict

import numpy as np


def _nearest_per_ray(ray: np.ndarray, t: np.ndarray):
    """Index into ``ray``/``t`` of the smallest ``t`` of each distinct ray.
    """
    order = np.lexsort((t, ray))
    _, first = np.unique(ray[order], return_index=True)
    return order[first]


def _slab_test(origin, dirs, centres, halves, yaws):
    """Ray vs oriented box for K (ray, box) pairs.

    Args:
        origin (np.ndarray): (3,) common ray origin.
        dirs (np.ndarray): (K, 3) unit directions.
        centres, halves (np.ndarray): (K, 3) box centres and half extents.
        yaws (np.ndarray): (K,) box headings about z.

    Returns:
        tuple: entry distance (K,) (inf for a miss, also when the origin is
        inside the box) and the outward normal (K, 3) of the entry face.
    """
    c, s = np.cos(yaws), np.sin(yaws)
    rel = origin - centres
    # Rotate origin and direction into each box's frame (by -yaw).
    o = np.stack([
        c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1], rel[:,
                                                                           2]
    ], 1)
    d = np.stack([
        c * dirs[:, 0] + s * dirs[:, 1], -s * dirs[:, 0] + c * dirs[:, 1],
        dirs[:, 2]
    ], 1)
    # Axis-parallel components would divide by zero; a tiny stand-in
    # gives the same slab interval (+-inf) without NaNs.
    d = np.where(np.abs(d) < 1e-12, 1e-12, d)
    inv = 1.0 / d
    t1 = (-halves - o) * inv
    t2 = (halves - o) * inv
    t_in = np.minimum(t1, t2)
    t_near = t_in.max(1)
    t_far = np.maximum(t1, t2).min(1)
    hit = (t_near > 0) & (t_near <= t_far)
    axis = t_in.argmax(1)
    k = np.arange(len(axis))
    sign = -np.sign(d[k, axis])
    # Entry-face normal in the box frame is sign * e_axis; rotate by yaw.
    normal = np.zeros((len(axis), 3))
    normal[:, 0] = np.where(axis == 0, c, np.where(axis == 1, -s, 0.0))
    normal[:, 1] = np.where(axis == 0, s, np.where(axis == 1, c, 0.0))
    normal[:, 2] = axis == 2
    return np.where(hit, t_near, np.inf), normal * sign[:, None]


def cast_rays(origin: np.ndarray,
              dirs: np.ndarray,
              centres: np.ndarray,
              halves: np.ndarray,
              yaws: np.ndarray,
              max_dist: float,
              chunk: int = 4096) -> Dict[str, np.ndarray]:
    """First hit of rays from one origin with the ground and boxes.

    The ground is the plane z = 0; boxes are oriented about z.

    Args:
        origin (np.ndarray): (3,) ray origin (above the ground).
        dirs (np.ndarray): (R, 3) unit ray directions.
        centres (np.ndarray): (B, 3) box centres.
        halves (np.ndarray): (B, 3) box half extents.
        yaws (np.ndarray): (B,) box headings.
        max_dist (float): Hits farther than this are misses.
        chunk (int): Rays per batch (bounds memory to chunk x B); rays
            of a batch should be neighbours (image rows, LiDAR firing
            order) so that culling boxes per batch pays off.

    Returns:
        dict[str, np.ndarray]: ``dist`` (R,) hit distance (inf: miss),
        ``box`` (R,) index of the hit box (-1: ground or miss),
        ``ground`` (R,) bool, ``normal`` (R, 3) unit surface normal.
    """
    origin = np.asarray(origin, dtype=np.float64)
    dirs = np.asarray(dirs, dtype=np.float64)
    num = len(dirs)
    with np.errstate(divide='ignore'):
        dist = np.where(dirs[:, 2] < -1e-9, -origin[2] / dirs[:, 2], np.inf)
    dist[dist > max_dist] = np.inf
    box = np.full(num, -1, dtype=np.int64)
    normal = np.zeros((num, 3))
    normal[:, 2] = 1.0

    rel = centres - origin
    centre_dist = np.linalg.norm(rel, axis=1)
    radius = np.linalg.norm(halves, axis=1)
    near = np.nonzero(centre_dist - radius < max_dist)[0]
    rel, centre_dist, radius = rel[near], centre_dist[near], radius[near]
    axis = rel / np.maximum(centre_dist, 1e-9)[:, None]
    # Half-angle of the cone around each bounding sphere (pi: origin in it).
    ratio = np.minimum(radius / np.maximum(centre_dist, 1e-9), 1.0)
    cone = np.where(centre_dist > radius, np.arcsin(ratio), np.pi)
    enter = centre_dist - radius
    for start in range(0, num, chunk):
        ray_dirs = dirs[start:start + chunk]
        # Cull per chunk first: boxes whose cone misses the chunk's cone.
        mean = ray_dirs.sum(0)
        mean /= max(np.linalg.norm(mean), 1e-9)
        spread = np.arccos(np.clip(ray_dirs @ mean, -1, 1)).max()
        off_axis = np.arccos(np.clip(axis @ mean, -1, 1))
        sel = np.nonzero(off_axis <= spread + cone + 1e-3)[0]
        if not len(sel):
            continue
        # Then per ray; loosened a little so rounding never culls a hit.
        cos_cone = np.cos(np.minimum(cone[sel] + 1e-3, np.pi))
        ray, cand = np.nonzero(ray_dirs @ axis[sel].T >= cos_cone)
        cand = sel[cand]
        ray += start
        # A box whose sphere starts behind the current hit cannot win.
        keep = enter[cand] < dist[ray]
        ray, cand = ray[keep], cand[keep]
        b = near[cand]
        t, n = _slab_test(origin, dirs[ray], centres[b], halves[b], yaws[b])
        idx = _nearest_per_ray(ray, t)
        ray, t, b, n = ray[idx], t[idx], b[idx], n[idx]
        win = t < dist[ray]
        ray = ray[win]
        dist[ray], box[ray], normal[ray] = t[win], b[win], n[win]
    dist[dist > max_dist] = np.inf
    hit = np.isfinite(dist)
    box[~hit] = -1
    return dict(dist=dist, box=box, ground=hit & (box < 0), normal=normal)
