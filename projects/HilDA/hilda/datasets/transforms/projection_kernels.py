# Copyright (c) HilDA authors. All rights reserved.
"""Compiled (numba) loops of the point-pixel projection.

:func:`~.projection.project_points` finds the pairs inside the images
in one pass over the points (:func:`pairs_in_images`, a list instead of
(C, N) arrays of every point in every camera), sets up and tests their
rays in another (:func:`pairs_hidden`) and chooses one camera per point
in a third (:func:`choose_pairs`; :func:`closest_to_centre` on (C, N)
arrays for the cell test). The free-space test spends its time
in two places: tabulating the range image (every column and elevation row
of the scan) and testing the samples along every camera ray. As numpy
passes both compute everything for every cell and every sample and keep
large temporaries; :func:`hidden_limit_table` computes the table with the
floating point operations of ``LidarRangeImage.surface_grid`` and
``hidden_threshold``, one cell at a time, and :func:`ray_hidden` tests
the ray samples in a vectorised loop with :func:`fast_atan2` (within
1e-14 rad of numpy's arctan2). The projection (:func:`camera_pixel`)
is numpy's arithmetic without its BLAS product. The tests compare their
decisions with the numpy reference
(``tests/helpers/free_space_reference.py``).

numba compiles each function once per process (``cache=True`` keeps the
machine code on disk, beside this file or in numba's cache directory, so
DataLoader workers and later runs load it instead).
"""
import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def hidden_limit_table(col, key, ret_elev, rng, plane_x, plane_y, ground,
                       azimuth_bins, elev, cos_elev, sin_elev, jump,
                       edge_fraction, neighbours, margin, rel):
    """Padded (azimuth_bins, rows + 1) table of the range beyond which a
    position is behind the scan's surface (``LidarRangeImage``'s
    ``surface_grid`` then ``hidden_threshold``).

    Args:
        col, key, ret_elev, rng, plane_x, plane_y, ground: The returns
            sorted by column then elevation (``LidarRangeImage``'s ``col``,
            ``key``, ``elev``, ``range``, ...).
        azimuth_bins (int): Columns.
        elev, cos_elev, sin_elev: (rows,) the table's elevation rows.
        jump, edge_fraction: Range-image rules.
        neighbours (int): Side-edge columns on each side.
        margin, rel: Tolerance folded into the table.

    Returns:
        np.ndarray: (azimuth_bins, rows + 1) float64, ``inf`` in the first
        and last padded rows and wherever the direction is free.
    """
    rows = elev.shape[0]
    grid = np.full((azimuth_bins, rows), np.inf)
    # First sorted return of each column (returns are sorted by column).
    first = np.searchsorted(col, np.arange(azimuth_bins + 1))
    for c in range(azimuth_bins):
        start, end = first[c], first[c + 1]
        if end - start < 2:
            continue
        above = start
        for r in range(rows):
            k = c * 4.0 + elev[r]
            # Returns at or below the direction: searchsorted(side='right').
            while above < end and key[above] <= k:
                above += 1
            if above == end:
                break  # above the column's highest return: free
            if above == start:
                continue  # below its lowest return: free
            g = above - 1
            r_lo, r_hi = rng[g], rng[g + 1]
            near, far = min(r_lo, r_hi), max(r_lo, r_hi)
            g_lo, g_hi = ground[g], ground[g + 1]
            lo_is_near = r_lo <= r_hi
            if (far - near <= jump * near) or (g_lo and g_hi):
                # Continuous surface: the direction meets the line between
                # the two returns in the column's vertical plane.
                x1, y1 = plane_x[g], plane_y[g]
                dx, dy = plane_x[g + 1] - x1, plane_y[g + 1] - y1
                den = cos_elev[r] * dy - sin_elev[r] * dx
                if not abs(den) > 1e-12:
                    den = 1e-12
                value = (x1 * dy - y1 * dx) / den
                grid[c, r] = min(max(value, near), far)
            else:
                de = max(ret_elev[g + 1] - ret_elev[g], 1e-12)
                frac = (elev[r] - ret_elev[g]) / de
                if lo_is_near:
                    reach = frac < edge_fraction
                else:
                    reach = frac > 1 - edge_fraction
                ground_below = g_lo and (not g_hi) and lo_is_near
                grid[c, r] = near if reach and not ground_below else far
    out = grid.copy()
    for offset in range(1, neighbours + 1):
        for side in (-offset, offset):
            for c in range(azimuth_bins):
                other = (c - side) % azimuth_bins  # np.roll(grid, side)
                for r in range(rows):
                    if grid[other, r] < out[c, r] * (1 - jump):
                        out[c, r] = grid[other, r]
    limit = np.full((azimuth_bins, rows + 1), np.inf)
    for c in range(azimuth_bins):
        for r in range(rows - 1):
            s = max(out[c, r], out[c, r + 1])
            limit[c, r + 1] = s + max(margin, rel * s)
    return limit


# atan(t) / t as a polynomial in t^2 on |t| <= tan(pi / 8) (least squares on
# Chebyshev nodes): with the reductions of fast_atan2 the error is below
# 1e-14 rad, the size of the differences between libm's and numpy's own
# arctan2, while a branch-free polynomial lets the compiler vectorise the
# ray loop (libm's atan2 cannot be).
ATAN_COEFFS = (0.999999999999832, -0.3333333332657011, 0.1999999924638091,
               -0.14285677011268388, 0.11110120956580247, -0.09075454568010557,
               0.07545141366311944, -0.058123687007715086, 0.02980690723354767)
TAN_PI_8 = 0.41421356237309503


@numba.njit(inline='always')
def fast_atan2(y, x):
    """``arctan2(y, x)`` within 1e-14 rad, branch-free."""
    ax, ay = abs(x), abs(y)
    num, den = min(ax, ay), max(ax, ay)
    # atan(num / den) = pi / 4 + atan((num - den) / (num + den)).
    reduce = num > TAN_PI_8 * den
    top = num - den if reduce else num
    bottom = num + den if reduce else den
    t = top / (bottom if bottom > 0 else 1.0)
    s = t * t
    p = 0.0
    for c in ATAN_COEFFS[::-1]:  # Horner, unrolled by the compiler
        p = p * s + c
    a = t * p + (np.pi / 4 if reduce else 0.0)
    a = np.pi / 2 - a if ay > ax else a
    a = np.pi - a if x < 0 else a
    return -a if y < 0 else a


@numba.njit(inline='always')
def ray_hidden(sx, sy, sz, dx, dy, dz, stop, frac, flat, rows, azimuth_bins,
               lo, step):
    """Whether one ray has a sample behind the surface (see
    :func:`rays_hidden`); ``flat`` is the raveled ``limit`` table of
    ``rows`` rows. The samples are one branch-free loop, which the
    compiler vectorises."""
    hit = False
    for j in range(frac.shape[0]):
        f = frac[j]
        x, y, z = sx + f * dx, sy + f * dy, sz + f * dz
        xx_yy = x * x + y * y
        rng = math.sqrt(xx_yy + z * z)
        col = math.floor(
            (fast_atan2(y, x) + np.pi) / (2 * np.pi) * azimuth_bins)
        # Azimuth +pi is column 0 (and -pi less a rounding error too).
        col = 0.0 if (col >= azimuth_bins or col < 0) else col
        row = math.floor((fast_atan2(z, math.sqrt(xx_yy)) - lo) / step)
        row = min(max(row, -1.0), rows - 2.0) + 1.0
        over = rng > flat[int(col) * rows + int(row)]
        hit |= over & (f < stop)
    return hit


@numba.njit(cache=True, nogil=True)
def rays_hidden(start, delta, stop, frac, limit, azimuth_bins, lo, step):
    """Whether each camera ray meets a sample behind the surface.

    Sample ``j`` of ray ``i`` is ``start[i] + frac[j] * delta[i]``; it is
    tested when ``frac[j] < stop[i]`` and is behind when its range exceeds
    ``limit`` in its cell (column and row as in
    ``LidarRangeImage.lookup``, with :func:`fast_atan2` for the angles).

    Args:
        start, delta (np.ndarray): (M, 3) float64 ray origins (camera
            centres) and camera-to-point vectors.
        stop (np.ndarray): (M,) float64, fraction where testing stops.
        frac (np.ndarray): (S,) float64 sample fractions.
        limit (np.ndarray): (azimuth_bins, rows) from
            :func:`hidden_limit_table`.
        azimuth_bins (int): Columns.
        lo, step (float): Elevation of the first unpadded row and the row
            spacing (radians).

    Returns:
        np.ndarray: (M,) bool, True where the point is hidden.
    """
    rows = limit.shape[1]
    flat = limit.ravel()
    hidden = np.zeros(start.shape[0], dtype=np.bool_)
    for i in range(start.shape[0]):
        hidden[i] = ray_hidden(start[i, 0], start[i, 1], start[i, 2],
                               delta[i, 0], delta[i, 1], delta[i, 2], stop[i],
                               frac, flat, rows, azimuth_bins, lo, step)
    return hidden


@numba.njit(cache=True, nogil=True)
def pairs_hidden(xyz, centres, point_idx, cam_idx, margin, rel, frac, limit,
                 azimuth_bins, lo, step):
    """:func:`rays_hidden` of the rays from camera ``cam_idx[i]``'s centre
    to point ``point_idx[i]``, with the rays set up here: testing stops
    ``max(margin, rel * length)`` short of the point (the arithmetic of
    ``visible_in_free_space``'s numpy set-up).

    Args:
        xyz (np.ndarray): (N, 3) float64 points.
        centres (np.ndarray): (C, 3) float64 camera centres.
        point_idx, cam_idx (np.ndarray): (M,) int64 pairs.
        margin, rel (float): Tolerance near the point.
        frac, limit, azimuth_bins, lo, step: As in :func:`rays_hidden`.

    Returns:
        np.ndarray: (M,) bool, True where the point is hidden.
    """
    rows = limit.shape[1]
    flat = limit.ravel()
    hidden = np.zeros(point_idx.shape[0], dtype=np.bool_)
    for i in range(point_idx.shape[0]):
        n, c = point_idx[i], cam_idx[i]
        sx, sy, sz = centres[c, 0], centres[c, 1], centres[c, 2]
        dx, dy, dz = xyz[n, 0] - sx, xyz[n, 1] - sy, xyz[n, 2] - sz
        length = math.sqrt(dx * dx + dy * dy + dz * dz)
        stop = 1.0 - max(margin, rel * length) / max(length, 1e-9)
        hidden[i] = ray_hidden(sx, sy, sz, dx, dy, dz, stop, frac, flat, rows,
                               azimuth_bins, lo, step)
    return hidden


@numba.njit(inline='always')
def camera_pixel(lidar2img, c, x, y, z, min_depth):
    """``(u, v, depth, in_front)`` of a point in camera ``c``; ``u`` and
    ``v`` are divided by 1 where the point is not ``min_depth`` in front
    (as the numpy projection did, ``tests/helpers``)."""
    m = lidar2img
    depth = x * m[c, 2, 0] + y * m[c, 2, 1] + z * m[c, 2, 2] + m[c, 2, 3]
    in_front = depth > min_depth
    scale = depth if in_front else 1.0
    u = (x * m[c, 0, 0] + y * m[c, 0, 1] + z * m[c, 0, 2] + m[c, 0, 3])
    v = (x * m[c, 1, 0] + y * m[c, 1, 1] + z * m[c, 1, 2] + m[c, 1, 3])
    return u / scale, v / scale, depth, in_front


@numba.njit(cache=True, nogil=True)
def project_all(xyz, lidar2img, min_depth, height, width):
    """Every point in every camera: (C, N) ``u``, ``v``, ``depth`` and
    ``in_image`` (at least ``min_depth`` in front, pixel inside the
    ``height`` x ``width`` image).

    Args:
        xyz (np.ndarray): (N, 3) float64 points.
        lidar2img (np.ndarray): (C, 4, 4) float64.
        min_depth (float): Minimum depth (m).
        height, width (np.ndarray): (C,) float64 image sizes.
    """
    num_cams, num = lidar2img.shape[0], xyz.shape[0]
    u = np.empty((num_cams, num))
    v = np.empty((num_cams, num))
    depth = np.empty((num_cams, num))
    in_image = np.empty((num_cams, num), dtype=np.bool_)
    for c in range(num_cams):
        for n in range(num):
            pu, pv, d, front = camera_pixel(lidar2img, c, xyz[n, 0], xyz[n, 1],
                                            xyz[n, 2], min_depth)
            u[c, n], v[c, n], depth[c, n] = pu, pv, d
            in_image[c, n] = (
                front and pu >= 0 and pu < width[c] and pv >= 0
                and pv < height[c])
    return u, v, depth, in_image


@numba.njit(cache=True, nogil=True)
def pairs_in_images(xyz, lidar2img, min_depth, height, width, seen):
    """The (point, camera) pairs inside the images, point by point (the
    cameras of a point in order): what :func:`project_all` marks
    ``in_image``, without its (C, N) arrays.

    Args:
        xyz, lidar2img, min_depth, height, width: As in
            :func:`project_all`.
        seen (np.ndarray): (C, N) bool, pairs outside it are left out; a
            (0, 0) array leaves none out.

    Returns:
        tuple[np.ndarray]: (M,) ``point_idx``, ``cam_idx`` (int64), ``u``,
        ``v``, ``depth`` (float64).
    """
    num_cams, num = lidar2img.shape[0], xyz.shape[0]
    use_seen = seen.shape[0] > 0
    point_idx = np.empty(num * num_cams, dtype=np.int64)
    cam_idx = np.empty(num * num_cams, dtype=np.int64)
    uvd = np.empty((3, num * num_cams))
    m = 0
    for n in range(num):
        x, y, z = xyz[n, 0], xyz[n, 1], xyz[n, 2]
        for c in range(num_cams):
            pu, pv, d, front = camera_pixel(lidar2img, c, x, y, z, min_depth)
            if (front and pu >= 0 and pu < width[c] and pv >= 0
                    and pv < height[c] and (not use_seen or seen[c, n])):
                point_idx[m], cam_idx[m] = n, c
                uvd[0, m], uvd[1, m], uvd[2, m] = pu, pv, d
                m += 1
    return (point_idx[:m].copy(), cam_idx[:m].copy(), uvd[0, :m].copy(),
            uvd[1, :m].copy(), uvd[2, :m].copy())


@numba.njit(cache=True, nogil=True)
def choose_pairs(point_idx, cam_idx, u, v, keep, height, width):
    """:func:`closest_to_centre` on a pair list sorted by point (the
    cameras of a point in order): per point, the kept pair whose pixel is
    closest to the image centre (the first on a tie).

    Args:
        point_idx, cam_idx (np.ndarray): (M,) int64, from
            :func:`pairs_in_images`.
        u, v (np.ndarray): (M,) float64 pixels.
        keep (np.ndarray): (M,) bool, the pairs that may be chosen.
        height, width (np.ndarray): (C,) float64 image sizes.

    Returns:
        np.ndarray: int64 positions of the chosen pairs, by point.
    """
    chosen = np.empty(point_idx.shape[0], dtype=np.int64)
    num_chosen = 0
    i = 0
    while i < point_idx.shape[0]:
        best, best_d = -1, np.inf
        n = point_idx[i]
        while i < point_idx.shape[0] and point_idx[i] == n:
            if keep[i]:
                c = cam_idx[i]
                d = max(
                    abs(u[i] / width[c] - 0.5), abs(v[i] / height[c] - 0.5))
                if d < best_d:
                    best, best_d = i, d
            i += 1
        if best >= 0:
            chosen[num_chosen] = best
            num_chosen += 1
    return chosen[:num_chosen].copy()


@numba.njit(cache=True, nogil=True)
def closest_to_centre(u, v, valid, height, width):
    """Per point, the valid camera where its pixel is closest to the image
    centre (``max(|u / w - 0.5|, |v / h - 0.5|)``; the first camera on a
    tie), -1 where no camera is valid.

    Args:
        u, v (np.ndarray): (C, N) float64 pixel coordinates.
        valid (np.ndarray): (C, N) bool.
        height, width (np.ndarray): (C,) float64 image sizes.

    Returns:
        np.ndarray: (N,) int64.
    """
    num_cams, num = u.shape
    best_cam = np.full(num, -1, dtype=np.int64)
    best = np.full(num, np.inf)
    for c in range(num_cams):
        for n in range(num):
            if valid[c, n]:
                d = max(
                    abs(u[c, n] / width[c] - 0.5),
                    abs(v[c, n] / height[c] - 0.5))
                if d < best[n]:
                    best[n] = d
                    best_cam[n] = c
    return best_cam
