# Copyright (c) HilDA authors. All rights reserved.
"""Loading of LiDAR scans (t0 and neighbours) and camera images, checked.

mmdet3d's loaders reshape whatever bytes they read, so a truncated file
fails with a bare numpy error, and NaN or absurd values (a file of random
bytes, a point at x=1e30) pass through to the voxeliser and BatchNorm.
Here every scan goes through :func:`load_points_file`, which names the file
in each error, drops non-finite and out-of-range rows with a counted
warning, and rejects a scan that is mostly such rows; every image goes
through :meth:`LoadCheckedMultiViewImages._read` and every calibration
matrix through :func:`camera_calibration`.
"""
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.datasets.transforms import (LoadMultiViewImageFromFiles,
                                         LoadPointsFromFile)
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures.points import BasePoints, get_points_type
from mmengine.fileio import get
from mmengine.logging import print_log

from ...errors import HilDAError
from .projection import as_4x4, transform_xyz

# How many times each kind of repaired input was met (for the final logs).
REPAIR_COUNTS: Dict[str, int] = {
    'non_finite_points': 0,
    'out_of_range_points': 0,
    'grayscale_images': 0,
    'rgba_images': 0,
    'images_without_size': 0,
    'capped_scans': 0,
}

# Default value checks of every scan. The box holds every return of the
# nuScenes (HDL-32E, ~70 m) and SemanticKITTI (HDL-64E, ~120 m) sensors
# with a wide margin; the feature range holds nuScenes' intensity (0-255)
# and ring index (0-31) and SemanticKITTI's remission (0-1). A float32 of
# random bits falls outside them with a probability of ~0.9 per point, so a
# file of random bytes is rejected while a real scan loses nothing.
DEFAULT_COORD_RANGE = (-500.0, -500.0, -100.0, 500.0, 500.0, 100.0)
DEFAULT_FEATURE_RANGE = (0.0, 255.0)
DEFAULT_MAX_BAD_RATIO = 0.5
# Cap of points per scan: ~9x a nuScenes scan (~35k), ~2.5x SemanticKITTI's
# (~120k); a scan beyond it (e.g. several merged sweeps, a 3 M-point dense
# sensor) is subsampled with a counted warning instead of multiplying the
# step's pairs, memory and time.
DEFAULT_MAX_POINTS = 300000


class BadSampleError(HilDAError, ValueError):
    """A sample file that cannot be used; the message names the file."""


def _feature_ranges(feature_range, num_features: int) -> list:
    """One ``(low, high)`` or None per feature column."""
    if feature_range is None:
        return [None] * num_features
    if len(feature_range) == 2 and all(
            isinstance(v, (int, float)) for v in feature_range):
        return [tuple(feature_range)] * num_features
    ranges = list(feature_range)
    if len(ranges) != num_features:
        raise ValueError(
            f'feature_range has {len(ranges)} entries for {num_features} '
            'feature columns; give one (low, high) pair for all or one '
            '(pair or None) per column')
    return ranges


def value_outliers(points: np.ndarray,
                   columns: Sequence[int],
                   coord_range: Optional[Sequence[float]],
                   feature_range=None) -> np.ndarray:
    """Rows with a checked value outside its range.

    Args:
        points (np.ndarray): (N, D) finite values as stored in the file.
        columns (Sequence[int]): File columns to check; columns 0-2 are
            x, y, z, the others features.
        coord_range (Sequence[float], optional): ``(x_min, y_min, z_min,
            x_max, y_max, z_max)`` in metres; None: not checked.
        feature_range (tuple | list, optional): ``(low, high)`` for every
            checked feature column, or a list with one pair (or None) per
            checked feature column; None: not checked.

    Returns:
        np.ndarray: (N,) bool, True where a row is out of range.
    """
    bad = np.zeros(len(points), dtype=bool)
    if coord_range is not None:
        low, high = np.asarray(coord_range, dtype=np.float64).reshape(2, 3)
        for col in (c for c in columns if c < 3):
            bad |= (points[:, col] < low[col]) | (points[:, col] > high[col])
    feat_cols = [c for c in columns if c >= 3]
    for col, rng in zip(feat_cols,
                        _feature_ranges(feature_range, len(feat_cols))):
        if rng is not None:
            bad |= (points[:, col] < rng[0]) | (points[:, col] > rng[1])
    return bad


def _check_range_options(use_dim, coord_range, feature_range) -> None:
    """Fail at build time, not at the first sample, on malformed ranges."""
    cols = list(range(use_dim)) if isinstance(use_dim, int) else use_dim
    if coord_range is not None and len(coord_range) != 6:
        raise ValueError('coord_range must be (x_min, y_min, z_min, x_max, '
                         f'y_max, z_max) or None, got {coord_range}')
    _feature_ranges(feature_range, sum(c >= 3 for c in cols))


def load_points_file(
        path: str,
        load_dim: int,
        use_dim: Union[int, Sequence[int]],
        backend_args: Optional[dict] = None,
        coord_range: Optional[Sequence[float]] = DEFAULT_COORD_RANGE,
        feature_range=DEFAULT_FEATURE_RANGE,
        max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO,
        check_dim: Optional[Union[int, Sequence[int]]] = None,
        max_points: Optional[int] = DEFAULT_MAX_POINTS) -> np.ndarray:
    """Read a float32 point file and check it.

    Rows with a NaN/inf value, or a checked value outside its range, are
    dropped and counted in a warning naming the file; when more than
    ``max_bad_ratio`` of the rows are such, the file is not a scan (random
    bytes, wrong format) and :class:`BadSampleError` names it.

    Args:
        path (str): ``.bin`` file of ``load_dim`` float32 values per point.
        load_dim (int): Values per point in the file.
        use_dim (int | Sequence[int]): Columns to keep (int: the first n).
        backend_args (dict, optional): mmengine file backend arguments.
        coord_range (Sequence[float], optional): Accepted ``(x_min, y_min,
            z_min, x_max, y_max, z_max)``; None: no check. Defaults to
            :data:`DEFAULT_COORD_RANGE` (nuScenes and SemanticKITTI).
        feature_range (tuple | list, optional): Accepted ``(low, high)`` of
            every feature column (after x, y, z), or one pair (or None) per
            checked feature column; None: no check. Defaults to
            :data:`DEFAULT_FEATURE_RANGE`.
        max_bad_ratio (float): Largest fraction of dropped (non-finite or
            out-of-range) rows a usable scan may have. Defaults to 0.5.
            0 rejects a scan with any bad row: use it where per-point labels
            are loaded from another file, which dropped rows would
            misalign.
        check_dim (int | Sequence[int], optional): Columns to range-check;
            defaults to ``use_dim`` (values never used are not checked).
        max_points (int, optional): Keep at most this many (usable) points:
            a larger scan is randomly subsampled (in scan order), counted
            and logged; with ``max_bad_ratio=0`` (per-point labels) it is
            rejected instead, as subsampling would misalign the labels.
            None: no cap. Defaults to :data:`DEFAULT_MAX_POINTS`.

    Returns:
        np.ndarray: (N, len(use_dim)) float32 with bad rows removed.

    Raises:
        BadSampleError: Missing file, a size that is not a whole number of
            points, no usable point left, or more than ``max_bad_ratio``
            of the rows bad; more than ``max_points`` points with
            ``max_bad_ratio=0``.
    """
    try:
        raw = get(path, backend_args=backend_args)
    except FileNotFoundError as e:
        raise BadSampleError(f'{path}: point file does not exist') from e
    if len(raw) % (4 * load_dim):
        raise BadSampleError(
            f'{path}: {len(raw)} bytes is not a whole number of points of '
            f'{load_dim} float32 values (truncated file or wrong load_dim)')
    points = np.frombuffer(raw, dtype=np.float32).reshape(-1, load_dim)
    if isinstance(use_dim, int):
        use_dim = list(range(use_dim))
    if check_dim is None:
        check_dim = use_dim
    elif isinstance(check_dim, int):
        check_dim = list(range(check_dim))
    if not _every_row_usable(points, use_dim, check_dim, coord_range,
                             feature_range):
        points = _drop_bad_rows(path, points, use_dim, check_dim, coord_range,
                                feature_range, max_bad_ratio)
    points = points[:, use_dim]
    if max_points and len(points) > max_points:
        points = _cap_points(path, points, max_points, max_bad_ratio)
    return np.ascontiguousarray(points)


def _drop_bad_rows(path: str, points: np.ndarray, use_dim: Sequence[int],
                   check_dim: Sequence[int],
                   coord_range: Optional[Sequence[float]], feature_range,
                   max_bad_ratio: float) -> np.ndarray:
    """The rows of ``points`` :func:`load_points_file` keeps (all
    columns), the dropped ones counted and logged; a file with too many
    raises :class:`BadSampleError`."""
    # Non-finite values anywhere in a kept column make the row unusable.
    non_finite = ~np.isfinite(points[:, use_dim]).all(1)
    with np.errstate(invalid='ignore'):
        out_of_range = value_outliers(points, check_dim, coord_range,
                                      feature_range) & ~non_finite
    total = len(points)
    bad = non_finite | out_of_range
    num_bad = int(bad.sum())
    if non_finite.all():  # also an empty file
        raise BadSampleError(f'{path}: the scan has no (finite) points')
    if num_bad == total or num_bad > max_bad_ratio * total:
        raise BadSampleError(
            f'{path}: {num_bad} of {total} points are non-finite or out of '
            f'range (coord_range={coord_range}, '
            f'feature_range={feature_range}), more than '
            f'max_bad_ratio={max_bad_ratio}: not a valid scan (corrupt '
            'file or wrong format?)')
    if num_bad:
        parts = []
        for key, mask, what in (('non_finite_points', non_finite, 'NaN/inf'),
                                ('out_of_range_points', out_of_range,
                                 'out-of-range')):
            if mask.any():
                REPAIR_COUNTS[key] += 1
                parts.append(f'{int(mask.sum())} with {what} values')
        print_log(
            f'{path}: dropped {num_bad} of {total} points '
            f'({", ".join(parts)}; scans repaired so far: '
            f"{REPAIR_COUNTS['non_finite_points']} NaN/inf, "
            f"{REPAIR_COUNTS['out_of_range_points']} out of range)",
            logger='current',
            level=logging.WARNING)
    return points[~bad]


def _every_row_usable(points: np.ndarray, use_dim: Sequence[int],
                      check_dim: Sequence[int],
                      coord_range: Optional[Sequence[float]],
                      feature_range) -> bool:
    """True only when :func:`load_points_file` would drop no row: the
    minimum and maximum of every used or checked column are finite (a NaN
    or inf anywhere in it reaches them) and pass :func:`value_outliers`'
    comparisons, in the same dtypes; two reductions instead of masks over
    every value. False means: look row by row."""
    if not len(points):
        return False
    # Column by column: numpy's min(axis=0) of a (N, 5) array is many times
    # slower than five strided reductions.
    columns = sorted(set(use_dim) | set(check_dim))
    extremes = np.zeros((2, points.shape[1]), dtype=points.dtype)
    for col in columns:
        extremes[:, col] = points[:, col].min(), points[:, col].max()
    if not np.isfinite(extremes[:, columns]).all():
        return False
    # value_outliers on the (2, D) extremes: its comparisons are monotonic,
    # so no row fails them when the columns' extremes pass.
    return not value_outliers(extremes, check_dim, coord_range,
                              feature_range).any()


def _cap_points(path: str, points: np.ndarray, max_points: int,
                max_bad_ratio: float) -> np.ndarray:
    """A random ``max_points`` of ``points`` in scan order (see
    :func:`load_points_file`), counted and logged."""
    if max_bad_ratio == 0:
        raise BadSampleError(
            f'{path}: {len(points)} points, more than max_points='
            f'{max_points}; not subsampled because max_bad_ratio=0 (per-point '
            'labels would misalign): raise max_points or set it to None')
    REPAIR_COUNTS['capped_scans'] += 1
    count = REPAIR_COUNTS['capped_scans']
    if count == 1 or count % 1000 == 0:
        print_log(
            f'{path}: {len(points)} points, more than max_points='
            f'{max_points}: randomly subsampled to {max_points} ({count} '
            'scans capped so far in this process)',
            logger='current',
            level=logging.WARNING)
    keep = np.sort(np.random.choice(len(points), max_points, replace=False))
    return points[keep]


# Largest deviation of R @ R.T from the identity, of det(R) from 1 and of
# the last row from (0, 0, 0, 1) accepted in a rigid transform: loose enough
# for matrices stored as float32 (mmdet3d's own info files), tight enough
# to catch a scaled, sheared, singular or zero matrix.
RIGID_TOL = 1e-3


def check_rigid(matrix, name: str, tol: float = RIGID_TOL) -> np.ndarray:
    """Return a 4x4 rigid transform as float64 after checking it.

    Args:
        matrix (array-like): 4x4 ``[R t; 0 1]`` (or a 3x3 rotation).
        name (str): What it is, for the message.
        tol (float): Accepted deviation, see :data:`RIGID_TOL`.

    Raises:
        ValueError: Wrong shape, non-finite entries, a rotation part that is
            not orthonormal with determinant 1, or a wrong last row.
    """
    m = as_4x4(matrix, name)
    if not np.isfinite(m).all():
        raise ValueError(f'{name} has non-finite entries')
    rot = m[:3, :3]
    ortho = float(np.abs(rot @ rot.T - np.eye(3)).max())
    det = float(np.linalg.det(rot))
    row = float(np.abs(m[3] - (0, 0, 0, 1)).max())
    if ortho > tol or abs(det - 1) > tol or row > tol:
        raise ValueError(
            f'{name} is not a rigid transform (|R R^T - I| = {ortho:.3g}, '
            f'det R = {det:.6g}, last row {m[3].tolist()}; tolerance {tol})')
    return m


def check_intrinsics(matrix, name: str = 'cam2img') -> np.ndarray:
    """Return ``cam2img`` (3x3 or 4x4) as a 4x4 float64 after checking it.

    Raises:
        ValueError: Wrong shape, non-finite entries or a focal length
            (``[0, 0]``, ``[1, 1]``) that is not positive.
    """
    m = as_4x4(matrix, name)
    if not np.isfinite(m).all():
        raise ValueError(f'{name} has non-finite entries')
    if m[0, 0] <= 0 or m[1, 1] <= 0:
        raise ValueError(f'{name} focal lengths must be positive, got '
                         f'fx={m[0, 0]:g}, fy={m[1, 1]:g}')
    return m


@TRANSFORMS.register_module()
class LoadCheckedPointsFromFile(LoadPointsFromFile):
    """mmdet3d's ``LoadPointsFromFile`` reading through
    :func:`load_points_file` (clear errors; NaN/inf and out-of-range rows
    dropped with a counted warning; a mostly bad file rejected).

    Required Keys:

    - lidar_points (dict)

      - lidar_path (str)

    Added Keys:

    - points (:obj:`BasePoints`)

    Args:
        coord_range (Sequence[float], optional): Accepted ``(x_min, y_min,
            z_min, x_max, y_max, z_max)`` of the raw scan; None: no check.
            Defaults to :data:`DEFAULT_COORD_RANGE`.
        feature_range (tuple | list, optional): Accepted ``(low, high)`` of
            each used feature column, or one pair (or None) per used
            feature column; None: no check. Defaults to
            :data:`DEFAULT_FEATURE_RANGE`.
        max_bad_ratio (float): Largest fraction of dropped rows before the
            file is rejected. Defaults to 0.5. Set 0 in a pipeline that
            loads per-point labels (``LoadAnnotations3D(with_seg_3d=True)``):
            a dropped row would shift every later label.
        max_points (int, optional): Cap of points per scan, see
            :func:`load_points_file`. Defaults to
            :data:`DEFAULT_MAX_POINTS`; None: no cap.
        **kwargs: Those of
            :class:`mmdet3d.datasets.transforms.LoadPointsFromFile`.
    """

    def __init__(self,
                 *args,
                 coord_range: Optional[Sequence[float]] = DEFAULT_COORD_RANGE,
                 feature_range=DEFAULT_FEATURE_RANGE,
                 max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO,
                 max_points: Optional[int] = DEFAULT_MAX_POINTS,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _check_range_options(self.use_dim, coord_range, feature_range)
        self.coord_range = coord_range
        self.feature_range = feature_range
        self.max_bad_ratio = max_bad_ratio
        self.max_points = max_points

    def _load_points(self, pts_filename: str) -> np.ndarray:
        # All columns are kept here (the parent applies use_dim); only the
        # used ones are range-checked.
        return load_points_file(
            pts_filename,
            self.load_dim,
            self.load_dim,
            self.backend_args,
            coord_range=self.coord_range,
            feature_range=self.feature_range,
            max_bad_ratio=self.max_bad_ratio,
            check_dim=self.use_dim,
            max_points=self.max_points)


@TRANSFORMS.register_module()
class LoadTemporalPoints(BaseTransform):
    """Load the t-1 and t+1 scans and move them into the t0 LiDAR frame.

    The dataset gives each neighbour its file and its ``lidar2t0`` matrix
    (from ``lidar2ego`` and ``ego2global`` of both frames). At a scene's
    first or last keyframe the dataset substitutes t0 itself (identity
    transform) and marks it with ``is_fallback``. The scans are checked as
    by :class:`LoadCheckedPointsFromFile` (in their own frame, before the
    move) and ``lidar2t0`` must be rigid.

    Required Keys:

    - temporal (dict): ``prev`` and ``next``, each with ``lidar_path``,
      ``num_pts_feats``, ``lidar2t0`` (4x4) and ``is_fallback``

    Added Keys:

    - points_prev (:obj:`BasePoints`): t-1 scan in the t0 frame
    - points_next (:obj:`BasePoints`): t+1 scan in the t0 frame
    - temporal_fallback (np.ndarray): (2,) bool, prev / next substituted

    Args:
        coord_type (str): Points type, 'LIDAR'. Defaults to 'LIDAR'.
        load_dim (int): Values per point in the files. Defaults to 5.
        use_dim (int | list[int]): Columns to keep. Defaults to [0, 1, 2, 3].
        keys (Sequence[str]): Which neighbours to load. Defaults to
            ('prev', 'next').
        backend_args (dict, optional): mmengine file backend arguments.
        coord_range, feature_range, max_bad_ratio, max_points: As
            :class:`LoadCheckedPointsFromFile`.
    """

    def __init__(self,
                 coord_type: str = 'LIDAR',
                 load_dim: int = 5,
                 use_dim: Union[int, List[int]] = [0, 1, 2, 3],
                 keys: Sequence[str] = ('prev', 'next'),
                 backend_args: Optional[dict] = None,
                 coord_range: Optional[Sequence[float]] = DEFAULT_COORD_RANGE,
                 feature_range=DEFAULT_FEATURE_RANGE,
                 max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO,
                 max_points: Optional[int] = DEFAULT_MAX_POINTS) -> None:
        _check_range_options(use_dim, coord_range, feature_range)
        self.points_class = get_points_type(coord_type)
        self.load_dim = load_dim
        self.use_dim = use_dim
        self.keys = tuple(keys)
        self.backend_args = backend_args
        self.coord_range = coord_range
        self.feature_range = feature_range
        self.max_bad_ratio = max_bad_ratio
        self.max_points = max_points

    def _load(self, neighbour: dict) -> BasePoints:
        path = neighbour['lidar_path']
        try:
            lidar2t0 = check_rigid(neighbour['lidar2t0'], 'lidar2t0')
        except ValueError as e:
            raise BadSampleError(f'{path}: {e}') from e
        points = load_points_file(
            path,
            self.load_dim,
            self.use_dim,
            self.backend_args,
            coord_range=self.coord_range,
            feature_range=self.feature_range,
            max_bad_ratio=self.max_bad_ratio,
            max_points=self.max_points)
        # float64 arithmetic, stored back into the float32 scan.
        transform_xyz(points, lidar2t0, dtype=np.float64, out=points)
        return self.points_class(
            points, points_dim=points.shape[-1], attribute_dims=None)

    def transform(self, results: dict) -> dict:
        temporal = results['temporal']
        for key in self.keys:
            results[f'points_{key}'] = self._load(temporal[key])
        results['temporal_fallback'] = np.array(
            [temporal[k]['is_fallback'] for k in self.keys])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(load_dim={self.load_dim}, '
                f'use_dim={self.use_dim}, keys={self.keys}, '
                f'coord_range={self.coord_range}, '
                f'feature_range={self.feature_range}, '
                f'max_bad_ratio={self.max_bad_ratio})')


def camera_calibration(images: dict,
                       tol: float = RIGID_TOL
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """Checked (C, 4, 4) ``cam2img`` and ``lidar2cam`` of an info's
    ``images`` dict (camera name -> ``img_path``, ``cam2img``,
    ``lidar2cam``).

    ``cam2img`` must be finite with positive focal lengths and
    ``lidar2cam`` rigid (see :func:`check_rigid`); a bad matrix raises
    :class:`BadSampleError` naming the image, the camera and the key.
    """
    cam2img, lidar2cam = [], []
    for cam, item in images.items():
        path = item.get('img_path', cam)
        try:
            cam2img.append(check_intrinsics(item['cam2img'], 'cam2img'))
            lidar2cam.append(check_rigid(item['lidar2cam'], 'lidar2cam', tol))
        except (KeyError, ValueError) as e:
            what = f'no {e}' if isinstance(e, KeyError) else str(e)
            raise BadSampleError(f'{path} ({cam}): {what}') from e
    return np.stack(cam2img), np.stack(lidar2cam)


_warned_no_size = False
# JPEG start-of-frame markers (baseline, progressive, lossless, ...).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_size(data: bytes) -> Optional[Tuple[int, int]]:
    """(height, width) from a JPEG's frame header, None if not found."""
    if data[:2] != b'\xff\xd8':
        return None
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _SOF_MARKERS:
            return (int.from_bytes(data[pos + 5:pos + 7], 'big'),
                    int.from_bytes(data[pos + 7:pos + 9], 'big'))
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], 'big')
    return None


def _count_repair(key: str, path: str, what: str) -> None:
    """Count a converted image; log the first one and every 1000th."""
    REPAIR_COUNTS[key] += 1
    if REPAIR_COUNTS[key] == 1 or REPAIR_COUNTS[key] % 1000 == 0:
        print_log(
            f'{path}: {what} converted to 3-channel BGR '
            f'({REPAIR_COUNTS[key]} so far in this process)',
            logger='current',
            level=logging.WARNING)


@TRANSFORMS.register_module()
class LoadCheckedMultiViewImages(LoadMultiViewImageFromFiles):
    """mmdet3d's ``LoadMultiViewImageFromFiles`` with checked files, sizes
    and calibration, and ``lidar2img`` for every camera.

    Every image is decoded as 3-channel BGR: a grayscale image is
    converted and an alpha channel dropped (counted in
    :data:`REPAIR_COUNTS`). An empty or undecodable file raises
    :class:`BadSampleError` naming it. When the info gives a camera's
    ``width``/``height`` (the size its calibration was made for; written by
    ``tools/create_hilda_infos.py``), an image of another size is an error
    naming the file and both sizes; infos without them (older files) load
    with a one-time warning, and then all images of a sample must have one
    size.

    Required Keys:

    - images (dict): per camera ``img_path``, ``cam2img`` (3x3 or 4x4),
      ``lidar2cam`` (4x4), optional ``width`` and ``height``

    Added Keys:

    - img (list[np.ndarray]), img_shape, ori_shape, pad_shape, filename
    - cam2img (np.ndarray): (C, 4, 4) intrinsics, padded to 4x4
    - lidar2cam (np.ndarray): (C, 4, 4)
    - lidar2img (np.ndarray): (C, 4, 4), ``cam2img @ lidar2cam``
    - img_shapes (np.ndarray): (C, 2) height and width of every image
    - cam_names (list[str])
    - info_calibration (tuple[np.ndarray, np.ndarray]): the checked
      ``cam2img`` and ``lidar2cam`` as the info gives them (before any
      decoding reduction), for :meth:`ProjectPointsToImages.fingerprints`

    Args:
        num_views (int): Cameras every sample must have. Defaults to 6
            (nuScenes' rig; mmdet3d's default is 5).
        rigid_tol (float): Tolerance of the ``lidar2cam`` check, see
            :func:`check_rigid`. Defaults to 1e-3.
        decode_min_size (tuple[int, int], optional): ``(H, W)`` the images
            are used at (the teacher input, ``MultiViewImageAug``'s
            ``final_size``): each image is decoded reduced by 2, 4 or 8
            (libjpeg's DCT scaling through OpenCV's
            ``IMREAD_REDUCED_COLOR_*``), the largest factor that keeps it
            at least this size, and its ``cam2img`` scaled to match (the
            project's option: several times cheaper than decoding 1600x900
            and resizing). Needs the info's ``width``/``height``; images
            without them are decoded full size. None: full size (mmdet3d's
            behaviour). Defaults to None.
        **kwargs: The rest of
            :class:`mmdet3d.datasets.transforms.LoadMultiViewImageFromFiles`'s
            arguments.
    """

    def __init__(self,
                 *args,
                 num_views: int = 6,
                 rigid_tol: float = RIGID_TOL,
                 decode_min_size: Optional[Tuple[int, int]] = None,
                 **kwargs) -> None:
        super().__init__(*args, num_views=num_views, **kwargs)
        self.rigid_tol = rigid_tol
        self.decode_min_size = (None if decode_min_size is None else tuple(
            int(n) for n in decode_min_size))

    def _reduction(self, item: dict, img_bytes: bytes) -> int:
        """Decoding reduction (1, 2, 4 or 8) of a camera's image, from the
        size the info records or else the JPEG header."""
        if self.decode_min_size is None:
            return 1
        if 'width' in item and 'height' in item:
            h, w = int(item['height']), int(item['width'])
        else:
            size = jpeg_size(img_bytes)
            if size is None:  # not a JPEG (or no frame header found)
                return 1
            h, w = size
        min_h, min_w = self.decode_min_size
        factor = 1
        for f in (2, 4, 8):
            if -(-h // f) >= min_h and -(-w // f) >= min_w:
                factor = f
        return factor

    def transform(self, results: dict) -> dict:
        images = results['images']
        if len(images) != self.num_views:
            raise BadSampleError(
                f"{results.get('lidar_path', '?')}: sample "
                f"{results.get('token', '?')} has {len(images)} cameras "
                f'({", ".join(images)}), expected num_views={self.num_views}')
        cam2img, lidar2cam = camera_calibration(images, self.rigid_tol)
        # As the info gives them, for the visibility cache's fingerprint.
        results['info_calibration'] = (cam2img.copy(), lidar2cam.copy())
        imgs, factors = zip(*(self._read(item['img_path'], item)
                              for item in images.values()))
        imgs = list(imgs)
        self._check_sizes(images, imgs, factors)
        # A pixel of an image reduced by f covers f x f pixels: u' = u / f.
        cam2img[:, :2] /= np.asarray(factors, np.float64)[:, None, None]
        if self.to_float32:
            imgs = [img.astype(np.float32) for img in imgs]
        results['filename'] = [item['img_path'] for item in images.values()]
        results['cam_names'] = list(images)
        results['img'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        results['ori_shape'] = imgs[0].shape[:2]
        results['pad_shape'] = imgs[0].shape[:2]
        results['img_shapes'] = np.array([img.shape[:2] for img in imgs])
        results['cam2img'] = cam2img
        results['ori_cam2img'] = cam2img.copy()
        results['lidar2cam'] = lidar2cam
        results['lidar2img'] = results['cam2img'] @ results['lidar2cam']
        if self.set_default_scale:
            results['scale_factor'] = 1.0
        results['num_views'] = len(imgs)
        return results

    @staticmethod
    def _check_sizes(images: dict,
                     imgs: List[np.ndarray],
                     factors: Optional[List[int]] = None) -> None:
        """Each image has its recorded size (reduced by its decoding
        factor), or (no sizes recorded) the first image's size; a mismatch
        names the image file."""
        global _warned_no_size
        first = None
        factors = factors or [1] * len(imgs)
        for (cam, item), img, f in zip(images.items(), imgs, factors):
            h, w = img.shape[:2]
            if 'width' in item and 'height' in item:
                expected = (-(-int(item['height']) // f),
                            -(-int(item['width']) // f))
                what = 'the info file records'
            else:
                REPAIR_COUNTS['images_without_size'] += 1
                if not _warned_no_size:
                    _warned_no_size = True
                    print_log(
                        f"{item['img_path']} ({cam}): the info file gives no "
                        'image width/height, so image sizes are not checked '
                        'against the calibration (recreate the infos with '
                        'tools/create_hilda_infos.py to record them; warned '
                        'once)',
                        logger='current',
                        level=logging.WARNING)
                if first is None:
                    first = (h, w, item['img_path'])
                expected = first[:2]
                what = f'{first[2]} is'
            if (h, w) != expected:
                raise BadSampleError(
                    f"{item['img_path']}: image ({cam}) is {w}x{h}, but "
                    f'{what} {expected[1]}x{expected[0]}; the calibration '
                    'holds for one size: resize the images on disk')
        return None

    def _read(self, path: str, item: dict) -> Tuple[np.ndarray, int]:
        """The decoded BGR image and its decoding reduction."""
        try:
            img_bytes = get(path, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise BadSampleError(f'{path}: image file does not exist') from e
        if len(img_bytes) == 0:
            raise BadSampleError(f'{path}: image file is empty (0 bytes)')
        try:
            reduction = self._reduction(item, img_bytes)
            flag = self.color_type if reduction == 1 else getattr(
                cv2, f'IMREAD_REDUCED_COLOR_{reduction}')
            img = mmcv.imfrombytes(img_bytes, flag=flag)
        except cv2.error as e:
            raise BadSampleError(
                f'{path}: cannot decode the image ({str(e).strip()})') from e
        if img is None:
            raise BadSampleError(f'{path}: cannot decode the image')
        if img.ndim == 2 or img.shape[2] == 1:
            _count_repair('grayscale_images', path, 'grayscale image')
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        elif img.shape[2] == 4:
            _count_repair('rgba_images', path, 'image with alpha channel')
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
        elif img.shape[2] != 3:
            raise BadSampleError(
                f'{path}: image has {img.shape[2]} channels; expected 1 '
                '(grayscale), 3 (colour) or 4 (with alpha)')
        return img, reduction
