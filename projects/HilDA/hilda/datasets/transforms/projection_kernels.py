# Copyright (c) HilDA authors. All rights reserved.
"""Compiled (numba) loops of the point-pixel projection.

The camera choice of :func:`~.projection.project_points` is one pass over
the points (:func:`closest_to_centre`) instead of several whole-array
numpy passes. :func:`~.projection.visible_in_free_space` spends its time
in two places: tabulating the range image (every column and elevation row
of the scan) and testing the samples along every camera ray. As numpy
passes both compute everything for every cell and every sample and keep
large temporaries; :func:`hidden_limit_table` computes the table with the
floating point operations of ``LidarRangeImage.surface_grid`` and
``hidden_threshold``, one cell at a time, and :func:`rays_hidden` tests
the ray samples in a vectorised loop with :func:`fast_atan2` (within
1e-14 rad of numpy's arctan2). The tests compare their decisions with the
numpy reference (``tests/helpers/free_space_reference.py``).

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


@numba.njit(cache=True, nogil=True)
def rays_hidden(start, delta, stop, frac, limit, azimuth_bins, lo, step):
    """Whether each camera ray meets a sample behind the surface.

    Sample ``j`` of ray ``i`` is ``start[i] + frac[j] * delta[i]``; it is
    tested when ``frac[j] < stop[i]`` and is behind when its range exceeds
    ``limit`` in its cell (column and row as in
    ``LidarRangeImage.lookup``, with :func:`fast_atan2` for the angles).
    The samples of a ray are one branch-free
    loop, which the compiler vectorises.

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
        sx, sy, sz = start[i, 0], start[i, 1], start[i, 2]
        dx, dy, dz = delta[i, 0], delta[i, 1], delta[i, 2]
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
            hit |= over & (f < stop[i])
        hidden[i] = hit
    return hidden


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
