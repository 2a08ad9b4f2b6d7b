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
                   occlusion_rel: float = 0.05,
                   occlusion: Optional[str] = None,
                   ground: Optional[np.ndarray] = None,
                   free_space: Optional[dict] = None) -> Dict[str, np.ndarray]:
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
    - None: no occlusion test, unless ``occlusion_stride`` is given (then
      ``'depth_cells'``, as before the option existed).

    A point visible in several cameras is assigned to one: the camera in
    which its pixel is closest to the image centre (relative to the image
    size), where lens distortion and border effects are smallest.

    Args:
        points (np.ndarray): (N, >=3) points in the LiDAR frame.
        lidar2img (np.ndarray): (C, 4, 4) projection matrices.
        img_shapes (Sequence[tuple[int, int]]): (H, W) of each camera.
        min_depth (float): Minimum depth in front of the camera, metres.
        occlusion_stride (int, optional): Cell size in pixels of the
            ``'depth_cells'`` test.
        occlusion_margin (float): Absolute depth tolerance of
            ``'depth_cells'``, metres.
        occlusion_rel (float): Relative depth tolerance of ``'depth_cells'``.
        occlusion (str, optional): ``'free_space'``, ``'depth_cells'`` or
            None, see above.
        ground (np.ndarray, optional): (N,) bool ground mask for
            ``'free_space'``.
        free_space (dict, optional): Keyword arguments of
            :func:`visible_in_free_space`.

    Returns:
        dict[str, np.ndarray]: ``point_idx`` (M,) int64 index into
        ``points``, ``cam_idx`` (M,) int64, ``uv`` (M, 2) float32 pixel
        coordinates, ``depth`` (M,) float32; sorted by ``point_idx``, each
        point at most once.
    """
    vis = camera_visibility(points, lidar2img, img_shapes, min_depth,
                            occlusion_stride, occlusion_margin, occlusion_rel,
                            occlusion, ground, free_space)
    u, v, depth, valid = vis['u'], vis['v'], vis['depth'], vis['visible']
    shapes = np.asarray(img_shapes, dtype=np.float64).reshape(-1, 2)
    h, w = shapes[:, :1], shapes[:, 1:]

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


def camera_visibility(points: np.ndarray,
                      lidar2img: np.ndarray,
                      img_shapes: Sequence[Tuple[int, int]],
                      min_depth: float = 0.1,
                      occlusion_stride: Optional[int] = None,
                      occlusion_margin: float = 0.5,
                      occlusion_rel: float = 0.05,
                      occlusion: Optional[str] = None,
                      ground: Optional[np.ndarray] = None,
                      free_space: Optional[dict] = None
                      ) -> Dict[str, np.ndarray]:
    """Every (camera, point) pair: pixel, depth, inside the image, seen.

    Arguments as in :func:`project_points`.

    Returns:
        dict[str, np.ndarray]: (C, N) arrays ``u``, ``v``, ``depth``,
        ``in_image`` (in front and inside the image) and ``visible``
        (``in_image`` and passing the occlusion test).
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
    in_image = in_front & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    valid = in_image.copy()

    if occlusion is None and occlusion_stride is not None:
        occlusion = 'depth_cells'
    if occlusion == 'depth_cells':
        if occlusion_stride is None:
            raise ValueError("occlusion='depth_cells' needs occlusion_stride")
        valid &= _visible_after_depth_test(u, v, depth, valid, shapes,
                                           occlusion_stride,
                                           occlusion_margin, occlusion_rel)
    elif occlusion == 'free_space':
        valid &= visible_in_free_space(points, camera_centres(lidar2img),
                                       valid, ground, **(free_space or {}))
    elif occlusion is not None:
        raise ValueError("occlusion must be 'free_space', 'depth_cells' or "
                         f'None, got {occlusion!r}')

    return dict(u=u, v=v, depth=depth, in_image=in_image, visible=valid)


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


def camera_centres(lidar2img: np.ndarray) -> np.ndarray:
    """(C, 3) camera centres in the LiDAR frame from (C, 4, 4) projections.

    The centre is the point the 3x4 projection sends to zero:
    ``P[:3, :3] c + P[:3, 3] = 0``; pixel maps (resize, crop, flip) leave
    it where it is.
    """
    lidar2img = np.asarray(lidar2img, dtype=np.float64)
    return -np.linalg.solve(lidar2img[:, :3, :3], lidar2img[:, :3, 3:])[..., 0]


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
                 edge_fraction: float = 0.6) -> None:
        self.azimuth_bins = azimuth_bins
        self.jump = jump
        self.edge_fraction = edge_fraction
        col, elev, rng = self.spherical(points[:, :3])
        order = np.lexsort((elev, col))
        self.col, self.elev, self.range = col[order], elev[order], rng[order]
        self.ground = (np.zeros(len(order), bool)
                       if ground is None else np.asarray(ground, bool)[order])
        # Elevations lie in (-pi/2, pi/2): columns 4 apart never overlap.
        self.key = self.col * 4.0 + self.elev

    def spherical(self, xyz: np.ndarray):
        """Column index, elevation (rad) and range of (..., 3) points."""
        xyz = np.asarray(xyz, dtype=np.float64)
        horiz = np.hypot(xyz[..., 0], xyz[..., 1])
        azim = np.arctan2(xyz[..., 1], xyz[..., 0])
        col = np.floor((azim + np.pi) / (2 * np.pi) *
                       self.azimuth_bins).astype(np.int64) % self.azimuth_bins
        rng = np.linalg.norm(xyz, axis=-1)
        return col, np.arctan2(xyz[..., 2], horiz), rng

    def column_surface(self, col: np.ndarray, elev: np.ndarray) -> np.ndarray:
        """Surface range in column ``col`` at elevation ``elev`` (1-D)."""
        size = len(self.key)
        if size == 0:
            return np.full(len(col), np.inf)
        above = np.searchsorted(self.key, col * 4.0 + elev, side='right')
        below = np.clip(above - 1, 0, size - 1)
        found = ((above >= 1) & (above < size)
                 & (self.col[below] == col)
                 & (self.col[np.minimum(above, size - 1)] == col))
        above = np.minimum(above, size - 1)
        r_lo, r_hi = self.range[below], self.range[above]
        e_lo, e_hi = self.elev[below], self.elev[above]
        # Continuous surface: where the direction meets the straight line
        # between the two returns (in the column's vertical plane).
        x1, y1 = r_lo * np.cos(e_lo), r_lo * np.sin(e_lo)
        dx, dy = r_hi * np.cos(e_hi) - x1, r_hi * np.sin(e_hi) - y1
        den = np.cos(elev) * dy - np.sin(elev) * dx
        den = np.where(np.abs(den) > 1e-12, den, 1e-12)
        near, far = np.minimum(r_lo, r_hi), np.maximum(r_lo, r_hi)
        inter = np.clip((x1 * dy - y1 * dx) / den, near, far)
        # Edge: the nearer return's surface covers edge_fraction of the gap.
        frac = (elev - e_lo) / np.maximum(e_hi - e_lo, 1e-12)
        lo_is_near = r_lo <= r_hi
        reach = np.where(lo_is_near, frac < self.edge_fraction,
                         frac > 1 - self.edge_fraction)
        edge = np.where(reach, near, far)
        g_lo, g_hi = self.ground[below], self.ground[above]
        edge = np.where(g_lo & ~g_hi & lo_is_near, far, edge)
        continuous = (far - near <= self.jump * near) | (g_lo & g_hi)
        return np.where(found, np.where(continuous, inter, edge), np.inf)

    def surface_grid(self, neighbours: int = 1,
                     elevation_step: float = np.deg2rad(0.2)) -> None:
        """Tabulate :meth:`column_surface` on a regular elevation grid
        (every column, ``elevation_step`` apart, spanning the returns), with
        the side-edge rule of :meth:`surface_range` applied, so that
        :meth:`surface_range` becomes a lookup."""
        lo = self.elev.min(initial=0.0) - elevation_step
        rows = int(np.ceil((self.elev.max(initial=0.0) - lo) /
                           elevation_step)) + 2
        col, row = np.meshgrid(
            np.arange(self.azimuth_bins), np.arange(rows), indexing='ij')
        grid = self.column_surface(col.ravel(),
                                   lo + row.ravel() * elevation_step)
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


def visible_in_free_space(points: np.ndarray,
                          centres: np.ndarray,
                          valid: np.ndarray,
                          ground: Optional[np.ndarray] = None,
                          num_samples: int = 24,
                          margin: float = 0.3,
                          rel: float = 0.02,
                          neighbours: int = 1,
                          elevation_step: float = 0.2,
                          chunk: int = 200000,
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
        chunk (int): Samples tested at once (bounds memory).
        **range_image_kwargs: ``azimuth_bins``, ``jump``, ``edge_fraction``
            of :class:`LidarRangeImage`.

    Returns:
        np.ndarray: (C, N) bool.
    """
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
    # Fractions along each ray, stopping short of the point's surface.
    stop = 1.0 - np.maximum(margin, rel * length) / np.maximum(length, 1e-9)
    frac = np.arange(1, num_samples + 1) / (num_samples + 1)
    hidden = np.zeros(len(idx), dtype=bool)
    step = max(1, chunk // num_samples)
    for lo in range(0, len(idx), step):
        sl = slice(lo, lo + step)
        # (pairs, samples, 3) positions along the rays.
        sample = (start[sl, None] + frac[None, :, None] * delta[sl, None])
        surface, sample_range = image.lookup(sample.reshape(-1, 3))
        behind = sample_range > surface + np.maximum(margin, rel * surface)
        behind = behind.reshape(-1, num_samples) & (frac[None] <
                                                    stop[sl, None])
        hidden[sl] = behind.any(1)
    visible[cam[~hidden], idx[~hidden]] = True
    return visible
