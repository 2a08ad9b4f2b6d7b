# Copyright (c) HilDA authors. All rights reserved.
"""Loading of LiDAR scans (t0 and neighbours) and camera images, checked.

mmdet3d's loaders reshape whatever bytes they read, so a truncated file
fails with a bare numpy error and NaN coordinates pass through silently.
Here every scan goes through :func:`load_points_file`, which names the file
in each error and drops non-finite rows with a counted warning.
"""
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.datasets.transforms import (LoadMultiViewImageFromFiles,
                                         LoadPointsFromFile)
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures.points import BasePoints, get_points_type
from mmengine.fileio import get
from mmengine.logging import print_log

from .projection import as_4x4

# How many times each kind of repaired input was met (for the final logs).
REPAIR_COUNTS: Dict[str, int] = {'non_finite_points': 0}


class BadSampleError(ValueError):
    """A sample file that cannot be used; the message names the file."""


def load_points_file(path: str,
                     load_dim: int,
                     use_dim: Union[int, Sequence[int]],
                     backend_args: Optional[dict] = None) -> np.ndarray:
    """Read a float32 point file and check it.

    Args:
        path (str): ``.bin`` file of ``load_dim`` float32 values per point.
        load_dim (int): Values per point in the file.
        use_dim (int | Sequence[int]): Columns to keep (int: the first n).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: (N, len(use_dim)) float32 with non-finite rows removed.

    Raises:
        BadSampleError: Missing file, a size that is not a whole number of
            points, or no finite point left.
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
    points = points[:, use_dim]
    finite = np.isfinite(points).all(1)
    if not finite.all():
        dropped = int((~finite).sum())
        REPAIR_COUNTS['non_finite_points'] += 1
        print_log(
            f'{path}: dropped {dropped} of {len(points)} points with NaN/inf '
            f'values (scans repaired so far: '
            f"{REPAIR_COUNTS['non_finite_points']})",
            logger='current',
            level=logging.WARNING)
        points = points[finite]
    if len(points) == 0:
        raise BadSampleError(f'{path}: the scan has no (finite) points')
    return np.ascontiguousarray(points)


@TRANSFORMS.register_module()
class LoadCheckedPointsFromFile(LoadPointsFromFile):
    """mmdet3d's ``LoadPointsFromFile`` reading through
    :func:`load_points_file` (clear errors, NaN rows dropped).

    Required Keys:

    - lidar_points (dict)

      - lidar_path (str)

    Added Keys:

    - points (:obj:`BasePoints`)

    Args are those of :class:`mmdet3d.datasets.transforms.LoadPointsFromFile`.
    """

    def _load_points(self, pts_filename: str) -> np.ndarray:
        # All columns are kept here; the parent applies use_dim.
        return load_points_file(pts_filename, self.load_dim, self.load_dim,
                                self.backend_args)


@TRANSFORMS.register_module()
class LoadTemporalPoints(BaseTransform):
    """Load the t-1 and t+1 scans and move them into the t0 LiDAR frame.

    The dataset gives each neighbour its file and its ``lidar2t0`` matrix
    (from ``lidar2ego`` and ``ego2global`` of both frames). At a scene's
    first or last keyframe the dataset substitutes t0 itself (identity
    transform) and marks it with ``is_fallback``.

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
    """

    def __init__(self,
                 coord_type: str = 'LIDAR',
                 load_dim: int = 5,
                 use_dim: Union[int, List[int]] = [0, 1, 2, 3],
                 keys: Sequence[str] = ('prev', 'next'),
                 backend_args: Optional[dict] = None) -> None:
        self.points_class = get_points_type(coord_type)
        self.load_dim = load_dim
        self.use_dim = use_dim
        self.keys = tuple(keys)
        self.backend_args = backend_args

    def _load(self, neighbour: dict) -> BasePoints:
        points = load_points_file(neighbour['lidar_path'], self.load_dim,
                                  self.use_dim, self.backend_args)
        lidar2t0 = np.asarray(neighbour['lidar2t0'], dtype=np.float64)
        if lidar2t0.shape != (4, 4):
            raise BadSampleError(f"{neighbour['lidar_path']}: lidar2t0 must "
                                 f'be 4x4, got {lidar2t0.shape}')
        xyz = points[:, :3].astype(np.float64) @ lidar2t0[:3, :3].T
        points[:, :3] = xyz + lidar2t0[:3, 3]
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
                f'use_dim={self.use_dim}, keys={self.keys})')


def camera_calibration(images: dict) -> Tuple[np.ndarray, np.ndarray]:
    """Checked (C, 4, 4) ``cam2img`` and ``lidar2cam`` of an info's
    ``images`` dict (camera name -> ``img_path``, ``cam2img``,
    ``lidar2cam``); a bad matrix raises :class:`BadSampleError` naming the
    image and the camera."""
    cam2img, lidar2cam = [], []
    for cam, item in images.items():
        path = item.get('img_path', cam)
        try:
            cam2img.append(as_4x4(item['cam2img'], 'cam2img'))
            lidar2cam.append(as_4x4(item['lidar2cam'], 'lidar2cam'))
        except ValueError as e:
            raise BadSampleError(f'{path} ({cam}): {e}') from e
    return np.stack(cam2img), np.stack(lidar2cam)


@TRANSFORMS.register_module()
class LoadCheckedMultiViewImages(LoadMultiViewImageFromFiles):
    """mmdet3d's ``LoadMultiViewImageFromFiles`` with checked files and
    calibration, and ``lidar2img`` for every camera.

    Required Keys:

    - images (dict): per camera ``img_path``, ``cam2img`` (3x3 or 4x4),
      ``lidar2cam`` (4x4)

    Added Keys:

    - img (list[np.ndarray]), img_shape, ori_shape, pad_shape, filename
    - cam2img (np.ndarray): (C, 4, 4) intrinsics, padded to 4x4
    - lidar2cam (np.ndarray): (C, 4, 4)
    - lidar2img (np.ndarray): (C, 4, 4), ``cam2img @ lidar2cam``
    - img_shapes (np.ndarray): (C, 2) height and width of every image
    - cam_names (list[str])

    Args are those of
    :class:`mmdet3d.datasets.transforms.LoadMultiViewImageFromFiles`.
    """

    def transform(self, results: dict) -> dict:
        images = results['images']
        cam2img, lidar2cam = camera_calibration(images)
        imgs = [self._read(item['img_path']) for item in images.values()]
        shapes = {img.shape for img in imgs}
        if len(shapes) > 1:
            raise BadSampleError(
                f"images of sample {results.get('lidar_path', '?')} differ "
                f'in size ({sorted(shapes)}); resize them on disk or per '
                'camera before stacking')
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

    def _read(self, path: str) -> np.ndarray:
        try:
            img_bytes = get(path, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise BadSampleError(f'{path}: image file does not exist') from e
        img = mmcv.imfrombytes(img_bytes, flag=self.color_type)
        if img is None:
            raise BadSampleError(f'{path}: cannot decode the image')
        return img
