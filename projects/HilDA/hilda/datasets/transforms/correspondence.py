# Copyright (c) HilDA authors. All rights reserved.
import logging
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TASK_UTILS, TRANSFORMS
from mmengine.logging import print_log

from ...errors import HilDAError
from .. import visibility_cache
from .loading import camera_calibration
from .projection import (DEFAULT_OCCLUSION_STRIDE, camera_visibility,
                         check_occlusion_options, project_points)

# Rows of the scan whose coordinates the fingerprint keeps.
FINGERPRINT_ROWS = 64
# A later rigid/scaling augmentation moves a row by float32 rounding only;
# a different point is almost always farther than this.
FINGERPRINT_TOL = 1e-3


class PairsMismatchError(HilDAError, ValueError):
    """The points no longer are the ones the pairs were computed on."""


def points_fingerprint(points: np.ndarray,
                       lidar_aug_matrix: Optional[np.ndarray] = None) -> dict:
    """Point count and the coordinates of a few spread-out rows.

    Args:
        points (np.ndarray): (N, >=3) the scan the pairs index.
        lidar_aug_matrix (np.ndarray, optional): (4, 4) augmentation already
            applied to ``points``; later ones are checked relative to it.

    Returns:
        dict: ``num_points``, ``rows`` (K,) int64, ``xyz`` (K, 3) float64,
        ``lidar_aug_matrix`` (4, 4).
    """
    num = len(points)
    rows = np.unique(
        np.linspace(0, num - 1, min(num, FINGERPRINT_ROWS)).astype(np.int64))
    return dict(
        num_points=num,
        rows=rows,
        xyz=np.asarray(points[rows, :3], dtype=np.float64),
        lidar_aug_matrix=np.asarray(
            np.eye(4) if lidar_aug_matrix is None else lidar_aug_matrix,
            dtype=np.float64))


def check_pairs_match_points(results: dict) -> None:
    """Raise if ``results['points']`` is not the scan the pairs index.

    :class:`ProjectPointsToImages` stores ``pair_points_fingerprint``; a
    transform after it that drops, adds or reorders points would silently
    move every pair onto another point. Rigid and scaling augmentations
    recorded in ``lidar_aug_matrix`` (:class:`ConsistentPointAug`) are
    allowed: the stored rows are moved by them before comparing.

    Args:
        results (dict): Pipeline results with ``points`` and, when pairs
            were computed, ``pair_points_fingerprint``.

    Raises:
        PairsMismatchError: naming the sample and what changed.
    """
    fingerprint = results.get('pair_points_fingerprint')
    if fingerprint is None:
        return
    problem = fingerprint_problem(results, 'points', fingerprint)
    if problem is not None:
        raise PairsMismatchError(
            f"{results.get('lidar_path', 'sample')}: point-pixel pairs "
            f'{problem} (a transform after ProjectPointsToImages changed '
            'the scan; filters, shuffles and samplers must run before it)')


def fingerprint_problem(results: dict, key: str,
                        fingerprint: dict) -> Optional[str]:
    """How ``results[key]`` differs from the scan ``fingerprint`` was
    taken of (:func:`points_fingerprint`), allowing for the augmentation
    recorded in ``lidar_aug_matrix`` since; None when it is that scan."""
    points = results[key]
    points = points.tensor.numpy() if hasattr(points, 'tensor') else \
        np.asarray(points)
    if len(points) != fingerprint['num_points']:
        return (f"were computed on {fingerprint['num_points']} points, "
                f"'{key}' has {len(points)} now")
    # Points now = later_aug @ points at projection time.
    later = np.asarray(
        results.get('lidar_aug_matrix', np.eye(4)),
        dtype=np.float64) @ np.linalg.inv(fingerprint['lidar_aug_matrix'])
    expected = fingerprint['xyz'] @ later[:3, :3].T + later[:3, 3]
    now = points[fingerprint['rows'], :3].astype(np.float64)
    scale = 1.0 + np.abs(expected).max(initial=0.0)
    moved = np.abs(now - expected).max(1) > FINGERPRINT_TOL * scale
    if moved.any():
        return (f'no longer match the points: {int(moved.sum())} of '
                f'{len(moved)} fingerprint rows hold other points '
                '(reordered, or moved by a transform not recorded in '
                'lidar_aug_matrix)')
    return None


def next_is_t0(results: dict, points: np.ndarray) -> bool:
    """Whether ``points_next`` is the t0 scan ``points`` itself, in t0's
    frame: t+1 fell back to t0 (``temporal['next']['is_fallback']``, the
    same file), its ``lidar2t0`` is the identity up to the rounding of a
    pose times its inverse (1e-9), and the two loaded scans agree: the
    same points in the same order, features equal, coordinates within the
    float32 rounding of that near-identity move."""
    nxt = (results.get('temporal') or {}).get('next') or {}
    if (not nxt.get('is_fallback') or 'points_next' not in results
            or nxt.get('lidar_path') != results.get('lidar_path')):
        return False
    lidar2t0 = np.asarray(nxt.get('lidar2t0'), dtype=np.float64)
    if lidar2t0.shape != (4, 4) or np.abs(lidar2t0 - np.eye(4)).max() > 1e-9:
        return False
    other = results['points_next'].tensor.numpy()
    if other.shape != points.shape or not np.array_equal(
            other[:, 3:], points[:, 3:]):
        return False
    scale = 1.0 + np.abs(points[:, :3]).max(initial=0.0)
    return bool(
        np.abs(other[:, :3] - points[:, :3]).max(initial=0.0) <= 1e-6 * scale)


@TRANSFORMS.register_module()
class ProjectPointsToImages(BaseTransform):
    """Point-pixel correspondences between the t0 scan and every camera.

    Runs after the image augmentations (it reads the updated ``lidar2img``)
    and before any point augmentation (the occlusion test needs the LiDAR
    at the origin). The occlusion test works in the LiDAR frame from the
    camera centres, which pixel maps leave where they are, so image
    augmentation does not change it and it can be computed once per
    sample beforehand (``visibility_cache``). Rotations, flips, scaling and
    translation keep the point order, so the point indices stay exact, and
    ``lidar_aug_matrix`` records how to undo them. See
    :func:`~.projection.project_points` for the visibility, occlusion and
    one-camera-per-point rules.

    Required Keys:

    - points (:obj:`BasePoints`)
    - lidar2img (np.ndarray): (C, 4, 4)
    - img_shapes (np.ndarray): (C, 2)

    Added Keys:

    - pair_point_idx (np.ndarray): (M,) int64 index into ``points``
    - pair_cam_idx (np.ndarray): (M,) int64
    - pair_uv (np.ndarray): (M, 2) float32 pixel coordinates (u, v)
    - pair_depth (np.ndarray): (M,) float32
    - num_pairs_per_cam (np.ndarray): (C,) int64
    - pair_points_fingerprint (dict): the point count and a few rows of
      the scan, see :func:`check_pairs_match_points` (run by
      :class:`PackHilDAInputs`)
    - cached_next_ground (dict, with ``visibility_cache`` when the file
      holds it): the stored t+1 ground mask, checked against
      ``points_next``, for :class:`BEVOccupancyTarget`
    - t0_ground (dict, online with a ground segmenter): the t0 scan's
      ground mask (``mask``), the ``segmenter`` and fingerprints of the
      scans it holds for (``scans``: ``points`` and, when t+1 fell back to
      t0, ``points_next``, see :func:`next_is_t0`), which
      :class:`BEVOccupancyTarget` uses instead of segmenting that scan
      again

    Args:
        min_depth (float): Minimum depth in front of a camera (m).
            Defaults to 0.1.
        occlusion (str, optional): Which occlusion test:
            ``'free_space'`` (default, the project's choice; the paper
            does not say): a camera sees a point when the ray to it crosses
            only space the LiDAR saw empty
            (:func:`~.projection.visible_in_free_space`), measured against
            the demo world's ray-cast visibility
            (``tools/analysis_tools/occlusion_accuracy.py``);
            ``'depth_cells'``: the earlier nearest-depth test in
            ``occlusion_stride`` pixel cells; None: no test. The test is
            chosen here only: no other argument changes it.
        occlusion_stride (int, optional): Cell size in pixels of
            ``'depth_cells'`` (None: 14, a ViT patch). Given with another
            test it is an error. Defaults to None.
        occlusion_margin (float): Absolute depth tolerance of
            ``'depth_cells'`` (m). Defaults to 0.5.
        occlusion_rel (float): Relative depth tolerance of
            ``'depth_cells'``. Defaults to 0.05.
        free_space (dict, optional): Keyword arguments of
            :func:`~.projection.visible_in_free_space` (``num_samples``,
            ``margin``, ``rel``, ``azimuth_bins``, ``jump``,
            ``edge_fraction``, ...). Defaults to its defaults.
        ground_segmenter (dict, optional): ``TASK_UTILS`` config of the
            ground segmenter ``'free_space'`` uses (ground does not hide
            what stands on it); part of a visibility cache's settings key.
            None: no point is ground. Defaults to Patchwork++
            (``PatchworkPPGroundSegmenter``); the dataset configs set
            ``PlaneFitGroundSegmenter`` (the project's option, as accurate
            here and cheaper, see ``docs/data_pipeline.md``).
        visibility_cache (str, optional): Directory written by
            ``tools/cache_visibility.py`` with the ``'free_space'`` result
            of every sample (the project's option for many epochs): read
            instead of running the test and the ground segmenter (and,
            where stored, the t+1 ground mask of ``BEVOccupancyTarget``,
            handed on). A file
            made from another scan, calibration or settings is an error
            naming it. None: computed online. Defaults to None.
    """

    def __init__(self,
                 min_depth: float = 0.1,
                 occlusion: Optional[str] = 'free_space',
                 occlusion_stride: Optional[int] = None,
                 occlusion_margin: float = 0.5,
                 occlusion_rel: float = 0.05,
                 free_space: Optional[dict] = None,
                 ground_segmenter: Optional[dict] = dict(
                     type='PatchworkPPGroundSegmenter'),
                 visibility_cache: Optional[str] = None) -> None:
        try:
            check_occlusion_options(occlusion, occlusion_stride)
        except ValueError as e:
            raise ValueError(f'ProjectPointsToImages: {e}') from None
        if visibility_cache is not None and occlusion != 'free_space':
            raise ValueError(
                'ProjectPointsToImages: visibility_cache holds the '
                f"'free_space' test; occlusion={occlusion!r}")
        self.min_depth = min_depth
        self.occlusion = occlusion
        self.occlusion_stride = (None if occlusion != 'depth_cells' else
                                 occlusion_stride or DEFAULT_OCCLUSION_STRIDE)
        self.occlusion_margin = occlusion_margin
        self.occlusion_rel = occlusion_rel
        self.free_space = dict(free_space or {})
        self.ground_segmenter_cfg = ground_segmenter
        self.ground_segmenter = (
            TASK_UTILS.build(ground_segmenter) if ground_segmenter is not None
            and occlusion == 'free_space' else None)
        self.visibility_cache = visibility_cache
        self.empty_camera_count = 0

    def occlusion_settings(self) -> dict:
        """What the free-space result depends on besides the sample (the
        key of a visibility cache)."""
        return dict(
            occlusion=self.occlusion,
            min_depth=self.min_depth,
            free_space=self.free_space,
            ground_segmenter=self.ground_segmenter_cfg)

    def seen_by_cameras(self, results: dict) -> np.ndarray:
        """(C, N) bool: the pairs of the t0 scan inside the current images
        that pass the occlusion test (what ``tools/cache_visibility.py``
        stores, run before image augmentation)."""
        points = results['points'].tensor.numpy()
        return camera_visibility(
            points,
            results['lidar2img'],
            results['img_shapes'],
            min_depth=self.min_depth,
            **self._occlusion_test(points))['visible']

    def fingerprints(self, results: dict) -> tuple:
        """(scan, calibration) SHA-1 of a sample, see
        :mod:`~..visibility_cache` (the calibration checked by the image
        loader, ``info_calibration``, or else checked here)."""
        calibration = results.get('info_calibration')
        cam2img, lidar2cam = (
            calibration if calibration is not None else camera_calibration(
                results['images']))
        return (visibility_cache.scan_sha1(results['points'].tensor.numpy()),
                visibility_cache.calib_sha1(cam2img, lidar2cam))

    def _occlusion_test(self,
                        points: np.ndarray,
                        ground: Optional[np.ndarray] = None) -> dict:
        """The occlusion arguments of ``project_points`` for a scan (with
        its ground mask, computed here when not given)."""
        if ground is None and self.ground_segmenter is not None:
            ground = self.ground_segmenter(points)
        return dict(
            occlusion=self.occlusion,
            occlusion_stride=self.occlusion_stride,
            occlusion_margin=self.occlusion_margin,
            occlusion_rel=self.occlusion_rel,
            ground=ground,
            free_space=self.free_space)

    def _t0_ground(self, results: dict, points: np.ndarray) -> dict:
        """The ground mask of the t0 scan, for the occlusion test and
        ``BEVOccupancyTarget`` (``results['t0_ground']``): the scans it
        holds for are ``points`` and, where t+1 fell back to t0 and is
        provably the same scan in the same frame, ``points_next``; each
        with a fingerprint to check that it has not changed since."""
        aug = np.asarray(
            results.get('lidar_aug_matrix', np.eye(4)), dtype=np.float64)
        mask = self.ground_segmenter(points)
        if not np.array_equal(aug, np.eye(4)):
            return dict(mask=mask)  # not in the sensor frame: not handed on
        scans = dict(points=points_fingerprint(points))
        if next_is_t0(results, points):
            scans['points_next'] = points_fingerprint(
                results['points_next'].tensor.numpy())
        return dict(mask=mask, segmenter=self.ground_segmenter, scans=scans)

    def _cached_seen(self, results: dict) -> np.ndarray:
        """The stored (C, N) verdicts; a stored t+1 ground mask goes to
        ``results['cached_next_ground']`` for ``BEVOccupancyTarget``."""
        scan, calib = self.fingerprints(results)
        nxt = results.get('points_next')
        seen, ground = visibility_cache.read_sample_and_ground(
            self.visibility_cache,
            results['token'],
            visibility_cache.settings_key(self.occlusion_settings()),
            scan,
            calib,
            list(results['images']),
            next_scan=(None if nxt is None else visibility_cache.scan_sha1(
                nxt.tensor.numpy())))
        if ground is not None:
            results['cached_next_ground'] = ground
        return seen

    def transform(self, results: dict) -> dict:
        points = results['points'].tensor.numpy()
        if self.visibility_cache is not None:
            # Stored for the un-augmented images, which contain the
            # augmented ones (resize and crop inside, flip): the pairs
            # inside the current images keep their stored verdict.
            pairs = project_points(
                points,
                results['lidar2img'],
                results['img_shapes'],
                min_depth=self.min_depth,
                seen=self._cached_seen(results))
        else:
            ground = None
            if self.ground_segmenter is not None:
                results['t0_ground'] = self._t0_ground(results, points)
                ground = results['t0_ground']['mask']
            pairs = project_points(
                points,
                results['lidar2img'],
                results['img_shapes'],
                min_depth=self.min_depth,
                **self._occlusion_test(points, ground))
        counts = np.bincount(
            pairs['cam_idx'], minlength=len(results['lidar2img']))
        if (counts == 0).any():
            self.empty_camera_count += int((counts == 0).sum())
            names = results.get('cam_names', list(range(len(counts))))
            empty = [str(names[i]) for i in np.nonzero(counts == 0)[0]]
            print_log(
                f"{results.get('lidar_path', 'sample')}: no point projects "
                f"into {', '.join(empty)} (cameras without points so far: "
                f'{self.empty_camera_count})',
                logger='current',
                level=logging.WARNING)
        for key in ('point_idx', 'cam_idx', 'uv', 'depth'):
            results[f'pair_{key}'] = pairs[key]
        results['num_pairs_per_cam'] = counts
        results['pair_points_fingerprint'] = points_fingerprint(
            points, results.get('lidar_aug_matrix'))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_depth={self.min_depth}, '
                f'occlusion={self.occlusion!r}, '
                f'occlusion_stride={self.occlusion_stride}, '
                f'free_space={self.free_space}, '
                f'visibility_cache={self.visibility_cache!r})')
