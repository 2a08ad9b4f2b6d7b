# Copyright (c) HilDA authors. All rights reserved.
"""Point-to-pixel projection for multi-camera rigs (numpy and compiled
loops, :mod:`.projection_kernels`).

Conventions: ``lidar2img`` is ``cam2img @ lidar2cam`` as 4x4 matrices
(``cam2img`` may be given 3x3 and is padded); pixel ``(u, v)`` has ``u``
along the image width and ``v`` along the height, with the centre of the
top-left pixel at (0.5, 0.5) as in OpenCV's ``remap``/``grid_sample`` with
``align_corners=False``.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .point_kernels import affine_rows
from .projection_kernels import (choose_pairs, closest_to_centre,
                                 hidden_limit_table, pairs_hidden,
                                 pairs_in_images, project_all, rays_hidden)


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


def transform_xyz(xyz: np.ndarray,
                  matrix: np.ndarray,
                  dtype=None,
                  out: Optional[np.ndarray] = None) -> np.ndarray:
    """``xyz @ R.T + t`` for a 4x4 ``matrix = [R t; 0 1]``.

    Computed in ``dtype`` (default: the dtype of ``xyz``) as nine scaled
    adds per point, ``((r0 x + r1 y) + r2 z) + t``, in one compiled pass
    (:func:`~.point_kernels.affine_rows`; a BLAS product on a (N, 3)
    array is slower, and its threads fight a dataloader's processes).

    Args:
        xyz (np.ndarray): (N, >=3) float32 or float64 (only the first three
            columns are read), any strides.
        matrix (np.ndarray): 4x4 (or 3x4) ``[R t]``.
        dtype (optional): Dtype of the arithmetic; float64 on float32
            points converts them exactly first. Defaults to
            ``xyz.dtype``.
        out (np.ndarray, optional): (N, >=3) array the result goes to
            (rounded to its dtype); may be ``xyz`` itself (in place).
            Defaults to a new (N, 3) array of ``dtype``.

    Returns:
        np.ndarray: ``out``.
    """
    dtype = np.dtype(xyz.dtype if dtype is None else dtype)
    rot = np.ascontiguousarray(np.asarray(matrix, dtype=dtype)[:3, :4])
    if out is None:
        out = np.empty((len(xyz), 3), dtype=dtype)
    affine_rows(xyz, rot, dtype.type(1), out)
    return out


def lidar2img_matrix(cam2img, lidar2cam) -> np.ndarray:
    """``cam2img @ lidar2cam`` as one 4x4 matrix (cam2img 3x3 or 4x4)."""
    return as_4x4(cam2img, 'cam2img') @ as_4x4(lidar2cam, 'lidar2cam')


def project_points(points: np.ndarray,
                   lidar2img: np.ndarray,
                   img_shapes: Sequence[Tuple[int, int]],
                   min_depth: float = 0.1,
                   occlusion: Optional[str] = None,
                   occlusion_stride: Optional[int] = None,
                   occlusion_margin: float = 0.5,
                   occlusion_rel: float = 0.05,
                   ground: Optional[np.ndarray] = None,
                   free_space: Optional[dict] = None,
                   seen: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
    """Project LiDAR points into every camera and keep valid pairs.

    A pair (point, camera) is kept when the point is at least ``min_depth``
    in front of the camera, its pixel lies inside the image and, with an
    occlusion test, the camera sees it:

    - ``'free_space'``: :func:`visible_in_free_space` (the camera ray to
      the point must stay in the space the LiDAR saw empty), with
      ``ground`` and the ``free_space`` keyword arguments.
    - ``'depth_cells'`` (the project's earlier test): the image is divided
      into cells of ``occlusion_stride`` pixels; in each cell only points no
      farther than the nearest point of that cell plus
      ``max(occlusion_margin, occlusion_rel * depth)`` metres are kept. It
      drops much of a slanted surface (the road) whose depth varies
      across a cell.
    - None: no occlusion test.

    ``occlusion_stride`` belongs to ``'depth_cells'`` only: given with
    another test it is an error (it never selects a test by itself).

    A point visible in several cameras is assigned to one: the camera in
    which its pixel is closest to the image centre (relative to the image
    size), where lens distortion and border effects are smallest.

    Without the cell test the work is compiled passes over the pairs
    inside the images (found point by point, never as (C, N) arrays of
    every point in every camera), with the decisions of numpy's
    projection (``tests/helpers/free_space_reference.py``).

    Args:
        points (np.ndarray): (N, >=3) points in the LiDAR frame.
        lidar2img (np.ndarray): (C, 4, 4) projection matrices.
        img_shapes (Sequence[tuple[int, int]]): (H, W) of each camera.
        min_depth (float): Minimum depth in front of the camera, metres.
        occlusion (str, optional): ``'free_space'``, ``'depth_cells'`` or
            None, see above.
        occlusion_stride (int, optional): Cell size in pixels of the
            ``'depth_cells'`` test (None: 14, a ViT patch).
        occlusion_margin (float): Absolute depth tolerance of
            ``'depth_cells'``, metres.
        occlusion_rel (float): Relative depth tolerance of ``'depth_cells'``.
        ground (np.ndarray, optional): (N,) bool ground mask for
            ``'free_space'``.
        free_space (dict, optional): Keyword arguments of
            :func:`visible_in_free_space`.
        seen (np.ndarray, optional): (C, N) bool, an occlusion result
            computed beforehand (e.g. stored by
            ``tools/cache_visibility.py``): pairs outside it are dropped.
            Use it with ``occlusion=None``.

    Returns:
        dict[str, np.ndarray]: ``point_idx`` (M,) int64 index into
        ``points``, ``cam_idx`` (M,) int64, ``uv`` (M, 2) float32 pixel
        coordinates, ``depth`` (M,) float32; sorted by ``point_idx``, each
        point at most once.
    """
    check_occlusion_options(occlusion, occlusion_stride)
    if occlusion == 'depth_cells':  # needs every camera's whole image
        return _project_with_depth_cells(points, lidar2img, img_shapes,
                                         min_depth, occlusion_stride,
                                         occlusion_margin, occlusion_rel, seen)
    lidar2img, height, width = _check_rig(lidar2img, img_shapes)
    xyz = np.ascontiguousarray(points[:, :3], dtype=np.float64)
    # The pairs inside the images, one compiled pass over the points.
    point_idx, cam_idx, u, v, depth = pairs_in_images(
        xyz, lidar2img, float(min_depth), height, width,
        np.zeros((0, 0), bool) if seen is None else np.ascontiguousarray(
            seen, dtype=bool))
    keep = np.ones(len(point_idx), dtype=bool)
    if occlusion == 'free_space':
        keep = ~free_space_hidden(xyz, camera_centres(lidar2img), point_idx,
                                  cam_idx, ground, **(free_space or {}))
    # One camera per point: the one where it is closest to the centre.
    chosen = choose_pairs(point_idx, cam_idx, u, v, keep, height, width)
    return dict(
        point_idx=point_idx[chosen],
        cam_idx=cam_idx[chosen],
        uv=np.stack([u[chosen], v[chosen]], 1).astype(np.float32),
        depth=depth[chosen].astype(np.float32))


def _project_with_depth_cells(points, lidar2img, img_shapes, min_depth,
                              occlusion_stride, occlusion_margin,
                              occlusion_rel, seen) -> Dict[str, np.ndarray]:
    """:func:`project_points` with ``occlusion='depth_cells'``."""
    vis = camera_visibility(points, lidar2img, img_shapes, min_depth,
                            'depth_cells', occlusion_stride, occlusion_margin,
                            occlusion_rel)
    u, v, depth, valid = vis['u'], vis['v'], vis['depth'], vis['visible']
    if seen is not None:
        valid = valid & seen
    _, height, width = _check_rig(lidar2img, img_shapes)
    best_cam = closest_to_centre(u, v, np.ascontiguousarray(valid), height,
                                 width)
    point_idx = np.nonzero(best_cam >= 0)[0]
    cam_idx = best_cam[point_idx]
    return dict(
        point_idx=point_idx.astype(np.int64),
        cam_idx=cam_idx.astype(np.int64),
        uv=np.stack([u[cam_idx, point_idx], v[cam_idx, point_idx]],
                    1).astype(np.float32),
        depth=depth[cam_idx, point_idx].astype(np.float32))


def _check_rig(lidar2img, img_shapes) -> tuple:
    """Checked (C, 4, 4) float64 ``lidar2img`` and the (C,) float64 image
    heights and widths."""
    lidar2img = np.ascontiguousarray(lidar2img, dtype=np.float64)
    num_cams = len(lidar2img)
    if lidar2img.shape != (num_cams, 4, 4):
        raise ValueError(f'lidar2img must be (C, 4, 4), got {lidar2img.shape}')
    if len(img_shapes) != num_cams:
        raise ValueError(f'{len(img_shapes)} image shapes for {num_cams} '
                         'cameras')
    shapes = np.asarray(img_shapes, dtype=np.float64).reshape(num_cams, 2)
    return lidar2img, shapes[:, 0].copy(), shapes[:, 1].copy()


def camera_visibility(
        points: np.ndarray,
        lidar2img: np.ndarray,
        img_shapes: Sequence[Tuple[int, int]],
        min_depth: float = 0.1,
        occlusion: Optional[str] = None,
        occlusion_stride: Optional[int] = None,
        occlusion_margin: float = 0.5,
        occlusion_rel: float = 0.05,
        ground: Optional[np.ndarray] = None,
        free_space: Optional[dict] = None) -> Dict[str, np.ndarray]:
    """Every (camera, point) pair: pixel, depth, inside the image, seen.

    Arguments as in :func:`project_points`.

    Returns:
        dict[str, np.ndarray]: (C, N) arrays ``u``, ``v``, ``depth``,
        ``in_image`` (in front and inside the image) and ``visible``
        (``in_image`` and passing the occlusion test).
    """
    check_occlusion_options(occlusion, occlusion_stride)
    lidar2img, height, width = _check_rig(lidar2img, img_shapes)
    xyz = np.ascontiguousarray(points[:, :3], dtype=np.float64)
    u, v, depth, in_image = project_all(xyz, lidar2img, float(min_depth),
                                        height, width)
    shapes = np.stack([height, width], 1)
    valid = in_image.copy()

    if occlusion == 'depth_cells':
        valid &= _visible_after_depth_test(
            u, v, depth, valid, shapes, occlusion_stride
            or DEFAULT_OCCLUSION_STRIDE, occlusion_margin, occlusion_rel)
    elif occlusion == 'free_space':
        valid &= visible_in_free_space(points, camera_centres(lidar2img),
                                       valid, ground, **(free_space or {}))

    return dict(u=u, v=v, depth=depth, in_image=in_image, visible=valid)


OCCLUSION_TESTS = ('free_space', 'depth_cells', None)
# Cell size of 'depth_cells' when none is given: one ViT patch.
DEFAULT_OCCLUSION_STRIDE = 14


def check_occlusion_options(occlusion: Optional[str],
                            occlusion_stride: Optional[int]) -> None:
    """Raise ValueError on an unknown test or a stride without the cell
    test (a stride never selects a test by itself)."""
    if occlusion not in OCCLUSION_TESTS:
        raise ValueError("occlusion must be 'free_space', 'depth_cells' or "
                         f'None, got {occlusion!r}')
    if occlusion_stride is not None and occlusion != 'depth_cells':
        raise ValueError(
            f'occlusion_stride={occlusion_stride} sizes the cells of '
            f"occlusion='depth_cells' but occlusion={occlusion!r}; set "
            "occlusion='depth_cells' to use the cell test, or drop "
            'occlusion_stride')


def _visible_after_depth_test(u, v, depth, valid, shapes, stride, margin,
                              rel) -> np.ndarray:
    """(C, N) mask of points not hidden behind a nearer point in their cell.
    """
    cells_w = np.ceil(shapes[:, 1] / stride).astype(np.int64)
    cells_h = np.ceil(shapes[:, 0] / stride).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(cells_w * cells_h)])
    cam, pts = np.nonzero(valid)
    cell = (
        offsets[cam] +
        (v[cam, pts] // stride).astype(np.int64) * cells_w[cam] +
        (u[cam, pts] // stride).astype(np.int64))
    d = depth[cam, pts]
    nearest = np.full(offsets[-1], np.inf)
    np.minimum.at(nearest, cell, d)
    keep = d <= nearest[cell] + np.maximum(margin, rel * d)
    visible = np.zeros_like(valid)
    visible[cam[keep], pts[keep]] = True
    return visible


def camera_centres(lidar2img: np.ndarray) -> np.ndarray:
    """(C, 3) camera centres in the LiDAR frame from (C, 4, 4) projections.

    The centre is the point the 3x4 projection sends to zero:
    ``P[:3, :3] c + P[:3, 3] = 0``; pixel maps (resize, crop, flip) leave
    it where it is.
    """
    lidar2img = np.asarray(lidar2img, dtype=np.float64)
    return -np.linalg.solve(lidar2img[:, :3, :3], lidar2img[:, :3, 3:])[..., 0]


# Row spacing of a tabulated range image (radians).
ELEVATION_STEP = np.deg2rad(0.2)


class LidarRangeImage:
    """The scan as the LiDAR saw it: per azimuth column, its returns sorted
    by elevation, to tell how far the surface is in any direction.

    A direction falls between two returns of its column (the rings just
    below and just above it). If their ranges are close (relative
    difference at most ``jump``) they are taken to be one surface and the
    range is interpolated between them (a slanted road stays whole). If
    they jump, an edge lies somewhere between them: the nearer surface is
    taken to reach ``edge_fraction`` of the angular gap towards the farther
    one. A ground return does not hide what lies above it: between a
    ground return below and a farther object above, the object's range
    holds. Where a bracketing return is missing (sky, beyond the lowest
    ring) the direction is free (``inf``).

    Args:
        points (np.ndarray): (N, >=3) the scan, the LiDAR at the origin.
        ground (np.ndarray, optional): (N,) bool ground mask (e.g. by
            :class:`~.ground_segmentation.PatchworkPPGroundSegmenter`);
            None: no point is ground.
        azimuth_bins (int): Columns per turn, about the LiDAR's azimuth
            steps (nuScenes' HDL-32E and the demo LiDAR: 1084).
        jump (float): Relative range difference above which two returns
            are not one surface.
        edge_fraction (float): How far into the gap between two returns
            the nearer surface reaches at a jump.
    """

    def __init__(self,
                 points: np.ndarray,
                 ground: Optional[np.ndarray] = None,
                 azimuth_bins: int = 1084,
                 jump: float = 0.2,
                 edge_fraction: float = 0.55) -> None:
        self.azimuth_bins = azimuth_bins
        self.jump = jump
        self.edge_fraction = edge_fraction
        col, elev, rng = self.spherical(points[:, :3])
        # Elevations lie in (-pi/2, pi/2): columns 4 apart never overlap,
        # so sorting the key sorts by column, then elevation.
        key = col * 4.0 + elev
        order = np.argsort(key, kind='stable')
        self.col, self.elev, self.range = col[order], elev[order], rng[order]
        self.ground = (
            np.zeros(len(order), bool) if ground is None else np.asarray(
                ground, bool)[order])
        self.key = key[order]
        # Each return in its column's vertical plane (horizontal, up).
        self.plane_x = self.range * np.cos(self.elev)
        self.plane_y = self.range * np.sin(self.elev)

    def spherical(self, xyz: np.ndarray):
        """Column index, elevation (rad) and range of (..., 3) points."""
        xyz = np.asarray(xyz, dtype=np.float64)
        horiz = np.hypot(xyz[..., 0], xyz[..., 1])
        azim = np.arctan2(xyz[..., 1], xyz[..., 0])
        col = np.floor(
            (azim + np.pi) / (2 * np.pi) * self.azimuth_bins).astype(
                np.int64) % self.azimuth_bins
        # np.linalg.norm's sum, (x^2 + y^2) + z^2, without its overhead.
        x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
        rng = np.sqrt(x * x + y * y + z * z)
        return col, np.arctan2(z, horiz), rng

    def column_surface(self, col: np.ndarray, elev: np.ndarray) -> np.ndarray:
        """Surface range in column ``col`` at elevation ``elev`` (1-D)."""
        return self._surface(
            col * 4.0 + elev, col, lambda pick:
            (elev[pick], np.cos(elev[pick]), np.sin(elev[pick])))

    def _surface(self, key: np.ndarray, col: np.ndarray,
                 direction) -> np.ndarray:
        """:meth:`column_surface` of the directions with sort keys ``key``
        (``col * 4 + elevation``) in columns ``col``; ``direction(pick)``
        gives the elevation, its cosine and sine of the directions
        ``pick``."""
        size = len(self.key)
        if size == 0:
            return np.full(len(col), np.inf)
        above = np.searchsorted(self.key, key, side='right')
        below = np.clip(above - 1, 0, size - 1)
        found = ((above >= 1) & (above < size)
                 & (self.col[below] == col)
                 & (self.col[np.minimum(above, size - 1)] == col))
        out = np.full(len(found), np.inf)
        # Only directions between two returns of their column need work;
        # there ``above`` is ``below + 1``: the gap index is ``below``.
        pick = np.nonzero(found)[0]
        gap = below[pick]
        elev, cos_elev, sin_elev = direction(pick)
        t = self._gap_terms()
        cont = t['continuous'][gap]
        # Continuous surface: where the direction meets the straight line
        # between the two returns (in the column's vertical plane).
        g = gap[cont]
        den = cos_elev[cont] * t['dy'][g] - sin_elev[cont] * t['dx'][g]
        den = np.where(np.abs(den) > 1e-12, den, 1e-12)
        near, far = t['near'][g], t['far'][g]
        out[pick[cont]] = np.clip(t['cross'][g] / den, near, far)
        # Edge: the nearer return's surface covers edge_fraction of the gap.
        sel, g = pick[~cont], gap[~cont]
        near, far = t['near'][g], t['far'][g]
        frac = (elev[~cont] - t['e_lo'][g]) / t['de'][g]
        reach = np.where(t['lo_is_near'][g], frac < self.edge_fraction, frac
                         > 1 - self.edge_fraction)
        out[sel] = np.where(reach & ~t['ground_below'][g], near, far)
        return out

    def _gap_terms(self) -> dict:
        """What :meth:`column_surface` needs of the gap between sorted
        returns ``i`` and ``i + 1``, whatever the direction (computed once
        per scan)."""
        if getattr(self, '_gaps', None) is None:
            r_lo, r_hi = self.range[:-1], self.range[1:]
            e_lo, e_hi = self.elev[:-1], self.elev[1:]
            x1, y1 = self.plane_x[:-1], self.plane_y[:-1]
            dx, dy = self.plane_x[1:] - x1, self.plane_y[1:] - y1
            near, far = np.minimum(r_lo, r_hi), np.maximum(r_lo, r_hi)
            g_lo, g_hi = self.ground[:-1], self.ground[1:]
            lo_is_near = r_lo <= r_hi
            self._gaps = dict(
                dx=dx,
                dy=dy,
                cross=x1 * dy - y1 * dx,
                near=near,
                far=far,
                e_lo=e_lo,
                de=np.maximum(e_hi - e_lo, 1e-12),
                lo_is_near=lo_is_near,
                # A ground return below a farther object does not hide it.
                ground_below=g_lo & ~g_hi & lo_is_near,
                continuous=(far - near <= self.jump * near) | (g_lo & g_hi))
        return self._gaps

    def elevation_rows(self, elevation_step: float):
        """The rows of a tabulated range image: ``elevation_step`` apart,
        spanning the returns with one row to spare on each side.

        Returns:
            tuple: ``lo`` (elevation of row 0) and the rows' elevations,
            cosines and sines, each (rows,) float64.
        """
        lo = self.elev.min(initial=0.0) - elevation_step
        rows = int(
            np.ceil((self.elev.max(initial=0.0) - lo) / elevation_step)) + 2
        elev = lo + np.arange(rows) * elevation_step
        return lo, elev, np.cos(elev), np.sin(elev)

    def surface_grid(self,
                     neighbours: int = 1,
                     elevation_step: float = ELEVATION_STEP) -> None:
        """Tabulate :meth:`column_surface` on a regular elevation grid
        (every column, :meth:`elevation_rows`), with the side-edge rule of
        :meth:`surface_range` applied, so that :meth:`surface_range`
        becomes a lookup."""
        lo, elev, cos_elev, sin_elev = self.elevation_rows(elevation_step)
        rows = len(elev)
        cols = np.arange(self.azimuth_bins)

        def direction(pick):  # trigonometry once per row, not per cell
            row = pick % rows
            return elev[row], cos_elev[row], sin_elev[row]

        grid = self._surface((cols[:, None] * 4.0 + elev).ravel(),
                             np.repeat(cols, rows), direction)
        grid = grid.reshape(self.azimuth_bins, rows)
        out = grid.copy()
        for offset in range(1, neighbours + 1):
            for side in (-offset, offset):
                other = np.roll(grid, side, axis=0)
                out = np.where(other < out * (1 - self.jump), other, out)
        self._grid = (out, lo, elevation_step)

    def surface_range(self, xyz: np.ndarray) -> np.ndarray:
        """Range of the surface the LiDAR saw in the direction of ``xyz``.

        A lookup in the table of :meth:`surface_grid` (built on first use
        with its defaults): the farther of the two rows bracketing the
        elevation, so that the tabulation never makes a slanted surface
        look nearer than it is. Neighbouring columns take part at side
        edges: one whose surface is nearer by more than ``jump`` (an
        occluder's vertical edge) gives its range.

        Args:
            xyz (np.ndarray): (M, 3) positions, LiDAR frame.

        Returns:
            np.ndarray: (M,) range, ``inf`` where free.
        """
        return self.lookup(xyz)[0]

    def lookup(self, xyz: np.ndarray):
        """:meth:`surface_range` and the range of ``xyz`` itself."""
        if getattr(self, '_grid', None) is None:
            self.surface_grid()
        grid, lo, step = self._grid
        col, elev, rng = self.spherical(xyz)
        row = np.floor((elev - lo) / step).astype(np.int64)
        inside = (row >= 0) & (row < grid.shape[1] - 1)
        row = np.clip(row, 0, grid.shape[1] - 2)
        surface = np.maximum(grid[col, row], grid[col, row + 1])
        return np.where(inside, surface, np.inf), rng

    def hidden_threshold(self,
                         margin: float,
                         rel: float,
                         neighbours: int = 1,
                         elevation_step: float = ELEVATION_STEP) -> None:
        """Tabulate, per column and elevation row, the range beyond which a
        position is behind the surface (:meth:`surface_range` of the table
        :meth:`surface_grid` would build, plus ``max(margin, rel *
        surface)``), with ``inf`` rows padded above and below, so that
        :meth:`hidden_along_rays` is one lookup per position
        (``elevation_step`` in radians). Compiled
        (:func:`~.projection_kernels.hidden_limit_table`): the same numbers
        as :meth:`surface_grid`, without its whole-table temporaries."""
        lo, elev, cos_elev, sin_elev = self.elevation_rows(elevation_step)
        limit = hidden_limit_table(self.col, self.key, self.elev, self.range,
                                   self.plane_x, self.plane_y, self.ground,
                                   self.azimuth_bins, elev, cos_elev, sin_elev,
                                   float(self.jump), float(self.edge_fraction),
                                   int(neighbours), float(margin), float(rel))
        self._limit = (limit, lo, elevation_step)

    def hidden_along_rays(self, start: np.ndarray, delta: np.ndarray,
                          stop: np.ndarray, frac: np.ndarray) -> np.ndarray:
        """Which rays have a sample behind the surface by more than the
        tolerance of :meth:`hidden_threshold` (which must run first).

        Sample ``j`` of ray ``i`` is ``start[i] + frac[j] * delta[i]``,
        tested while ``frac[j] < stop[i]``; it is behind when its range
        exceeds ``s + max(margin, rel * s)``, ``s`` from
        :meth:`surface_range`. Compiled
        (:func:`~.projection_kernels.rays_hidden`, one vectorised loop
        over the samples of each ray).

        Args:
            start (np.ndarray): (M, 3) ray origins, LiDAR frame.
            delta (np.ndarray): (M, 3) ray vectors.
            stop (np.ndarray): (M,) fraction where testing stops.
            frac (np.ndarray): (S,) increasing sample fractions.

        Returns:
            np.ndarray: (M,) bool.
        """
        return rays_hidden(
            _f64(start), _f64(delta), _f64(stop), _f64(frac), *self._table())

    def hidden_pairs(self, xyz: np.ndarray, centres: np.ndarray,
                     point_idx: np.ndarray, cam_idx: np.ndarray, margin: float,
                     rel: float, frac: np.ndarray) -> np.ndarray:
        """:meth:`hidden_along_rays` of the rays from camera centre
        ``centres[cam_idx[i]]`` to point ``xyz[point_idx[i]]``, testing
        stopping ``max(margin, rel * length)`` short of the point; the
        rays are set up inside the same compiled pass
        (:func:`~.projection_kernels.pairs_hidden`).

        Args:
            xyz (np.ndarray): (N, 3) points, LiDAR frame.
            centres (np.ndarray): (C, 3) camera centres, LiDAR frame.
            point_idx, cam_idx (np.ndarray): (M,) int pairs.
            margin, rel (float): Tolerance near the point.
            frac (np.ndarray): (S,) increasing sample fractions.

        Returns:
            np.ndarray: (M,) bool.
        """
        return pairs_hidden(
            _f64(xyz), _f64(centres),
            np.ascontiguousarray(point_idx, dtype=np.int64),
            np.ascontiguousarray(cam_idx, dtype=np.int64), float(margin),
            float(rel), _f64(frac), *self._table())

    def _table(self) -> tuple:
        """The kernels' arguments of :meth:`hidden_threshold`'s table:
        ``limit``, ``azimuth_bins``, ``lo``, ``step``."""
        limit, lo, step = self._limit
        return limit, self.azimuth_bins, float(lo), float(step)


def _f64(array) -> np.ndarray:
    """``array`` as C-contiguous float64 (what the kernels take)."""
    return np.ascontiguousarray(array, dtype=np.float64)


def visible_in_free_space(points: np.ndarray,
                          centres: np.ndarray,
                          valid: np.ndarray,
                          ground: Optional[np.ndarray] = None,
                          num_samples: int = 24,
                          margin: float = 0.3,
                          rel: float = 0.02,
                          neighbours: int = 1,
                          elevation_step: float = 0.2,
                          **range_image_kwargs) -> np.ndarray:
    """Camera visibility of LiDAR points from the LiDAR's own free space.

    Everything between the LiDAR and a return is empty (the beam went
    through it); what lies behind a return, seen from the LiDAR, is inside
    or behind a surface. A camera sees a point when the segment from the
    camera centre to the point stays in empty space: the segment is sampled
    at ``num_samples`` evenly spaced places, and the point is hidden if a
    sample lies more than ``max(margin, rel * range)`` behind the surface
    in its direction (:class:`LidarRangeImage`). Samples closer than
    ``max(margin, rel * distance)`` to the point itself are not tested
    (they lie on the point's own surface). Unlike a depth test in image
    cells, it does not depend on the image resolution and keeps slanted
    surfaces (the road) whole.

    The work is one range image per scan (tabulated once with the
    tolerance folded in, :meth:`LidarRangeImage.hidden_threshold`) and one
    compiled pass that sets up and tests the rays of all pairs of all
    cameras (:meth:`LidarRangeImage.hidden_pairs`); the test depends on the
    camera centres only, so pixel maps (resize, crop, flip) do not change
    it.

    Args:
        points (np.ndarray): (N, >=3) the scan, LiDAR frame (the sensor at
            the origin, before any point augmentation).
        centres (np.ndarray): (C, 3) camera centres, LiDAR frame
            (:func:`camera_centres`).
        valid (np.ndarray): (C, N) bool, the pairs to test (in front of the
            camera and inside its image); the others stay False.
        ground (np.ndarray, optional): (N,) bool ground mask.
        num_samples (int): Samples per camera ray.
        margin (float): Absolute tolerance (m).
        rel (float): Relative tolerance (of the range).
        neighbours (int): See :meth:`LidarRangeImage.surface_range`.
        elevation_step (float): Row spacing of the tabulated range image,
            degrees (:meth:`LidarRangeImage.surface_grid`).
        **range_image_kwargs: ``azimuth_bins``, ``jump``, ``edge_fraction``
            of :class:`LidarRangeImage`.

    Returns:
        np.ndarray: (C, N) bool.
    """
    cam, idx = np.nonzero(valid)
    visible = np.zeros(valid.shape, dtype=bool)
    hidden = free_space_hidden(points, centres, idx, cam, ground, num_samples,
                               margin, rel, neighbours, elevation_step,
                               **range_image_kwargs)
    visible[cam[~hidden], idx[~hidden]] = True
    return visible


def free_space_hidden(points: np.ndarray,
                      centres: np.ndarray,
                      point_idx: np.ndarray,
                      cam_idx: np.ndarray,
                      ground: Optional[np.ndarray] = None,
                      num_samples: int = 24,
                      margin: float = 0.3,
                      rel: float = 0.02,
                      neighbours: int = 1,
                      elevation_step: float = 0.2,
                      **range_image_kwargs) -> np.ndarray:
    """:func:`visible_in_free_space` of a list of (point, camera) pairs:
    which are hidden.

    Args:
        points, centres, ground: As in :func:`visible_in_free_space`.
        point_idx, cam_idx (np.ndarray): (M,) int indices of the pairs.
        num_samples, margin, rel, neighbours, elevation_step,
            **range_image_kwargs: As in :func:`visible_in_free_space`.

    Returns:
        np.ndarray: (M,) bool, True where the camera does not see the
        point.
    """
    if not len(point_idx):
        return np.zeros(0, dtype=bool)
    xyz = np.ascontiguousarray(points[:, :3], dtype=np.float64)
    image = LidarRangeImage(xyz, ground, **range_image_kwargs)
    image.hidden_threshold(margin, rel, neighbours, np.deg2rad(elevation_step))
    frac = np.arange(1, num_samples + 1) / (num_samples + 1)
    return image.hidden_pairs(xyz, centres, point_idx, cam_idx, margin, rel,
                              frac)
