# Copyright (c) HilDA authors. All rights reserved.
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TASK_UTILS, TRANSFORMS

from ...structures import BEVGrid
from ..visibility_cache import VisibilityCacheError, settings_key
from .correspondence import fingerprint_problem
from .ground_segmentation import ground_mask, same_segmenter


def bev_occupancy(points: np.ndarray, point_cloud_range: Sequence[float],
                  cell_size: float, num_height_bins: int) -> np.ndarray:
    """Binary BEV occupancy with height bins as channels.

    Args:
        points (np.ndarray): (N, >=3) points.
        point_cloud_range (Sequence[float]): [x_min, y_min, z_min, x_max,
            y_max, z_max] in metres; points outside are ignored.
        cell_size (float): BEV cell edge in metres.
        num_height_bins (int): Equal bins between z_min and z_max.

    Returns:
        np.ndarray: (num_height_bins, H, W) float32 in {-1, 1}, with H along
        y and W along x (``occ[k, iy, ix]``), 1 where a point falls.
    """
    grid = BEVGrid.build(point_cloud_range, cell_size)
    _, _, z0, _, _, z1 = grid.point_cloud_range
    occ = np.full((num_height_bins, *grid.shape), -1.0, dtype=np.float32)
    # The height bins, not the grid's z range, decide what is inside.
    iy, ix, inside = grid.cell_index(points, check_z=False)
    iz = np.floor(
        (points[:, 2] - z0) / (z1 - z0) * num_height_bins).astype(np.int64)
    inside &= (iz >= 0) & (iz < num_height_bins)
    occ[iz[inside], iy[inside], ix[inside]] = 1.0
    return occ


@TRANSFORMS.register_module()
class BEVOccupancyTarget(BaseTransform):
    """The diffusion target: BEV occupancy of one scan in the t0 frame.

    ``temporal`` mode uses the t+1 scan (``points_next``, already moved into
    the t0 frame and augmented like t0); ``masked`` mode uses t0 itself.
    Run it after the point augmentation so target and input agree.

    Ground removal (the paper's default): the ground points of the scan are
    left out of the occupancy. The segmenter runs in the scan's own sensor
    frame, which the transform recovers by undoing ``lidar_aug_matrix``
    and, for ``points_next``, the scan's ``lidar2t0`` (from
    ``temporal['next']``), since a ground model needs the sensor at the
    origin at its height above the road.

    The t+1 ground mask can be computed once per sample beforehand:
    ``tools/cache_visibility.py`` stores it beside the visibility, and
    :class:`~.correspondence.ProjectPointsToImages` with
    ``visibility_cache`` hands it on (``cached_next_ground``, checked
    against the t+1 scan there and against this transform's ground
    settings here). Online, where the source scan is the t0 scan itself
    (``points``, or a t+1 that fell back to t0 at a scene's last
    keyframe), the ground mask that
    :class:`~.correspondence.ProjectPointsToImages` computed on it for the
    occlusion test is used instead of segmenting the same scan twice
    (:meth:`t0_ground`).

    Required Keys:

    - points_next (``temporal``) or points (``masked``)
    - lidar_aug_matrix (optional), temporal (optional: ``lidar2t0``)
    - cached_next_ground (optional): a stored t+1 ground mask
    - t0_ground (optional): the t0 ground mask of the occlusion test,
      used when the source scan is t0 itself (:meth:`t0_ground`)

    Added Keys:

    - occ_target (np.ndarray): (num_height_bins, H, W) float32 in {-1, 1}
    - occ_ground_fraction (float): share of the scan's points removed as
      ground (0 with ``remove_ground=False``)

    Args:
        point_cloud_range (Sequence[float]): BEV extent, see
            :func:`bev_occupancy`.
        cell_size (float): BEV cell edge (m).
        num_height_bins (int): Height channels; the paper's target is
            binary BEV (1), more bins are the project's option.
        source_key (str): ``'points_next'`` (temporal, default) or
            ``'points'`` (masked).
        remove_ground (bool): Leave the ground out (paper). False keeps it
            (ablation). Defaults to True.
        ground_segmenter (dict): ``TASK_UTILS`` config of the segmenter.
            Defaults to Patchwork++ with nuScenes' sensor height
            (:class:`~.ground_segmentation.PatchworkPPGroundSegmenter`,
            which falls back to a plane fit, with a warning, when
            ``pypatchworkpp`` is missing).
    """

    def __init__(
        self,
        point_cloud_range: Sequence[float] = (-51.2, -51.2, -5.0, 51.2, 51.2,
                                              3.0),
        cell_size: float = 0.8,
        num_height_bins: int = 8,
        source_key: str = 'points_next',
        remove_ground: bool = True,
        ground_segmenter: dict = dict(type='PatchworkPPGroundSegmenter')
    ) -> None:
        if len(point_cloud_range) != 6:
            raise ValueError('point_cloud_range must have 6 values, got '
                             f'{point_cloud_range}')
        if source_key not in ('points_next', 'points'):
            raise ValueError("BEVOccupancyTarget: source_key must be "
                             f"'points_next' or 'points', got {source_key!r}")
        self.point_cloud_range = tuple(point_cloud_range)
        self.cell_size = cell_size
        self.num_height_bins = num_height_bins
        self.source_key = source_key
        self.remove_ground = remove_ground
        self.ground_segmenter_cfg = ground_segmenter
        self.ground_segmenter = (
            TASK_UTILS.build(ground_segmenter) if remove_ground else None)

    def _sensor2frame(self, results: dict) -> np.ndarray:
        """Map from the scanning sensor's frame to the (augmented) frame the
        source points are in now."""
        matrix = np.asarray(
            results.get('lidar_aug_matrix', np.eye(4)), dtype=np.float64)
        if self.source_key == 'points_next':
            nxt = results.get('temporal', {}).get('next', {})
            matrix = matrix @ np.asarray(
                nxt.get('lidar2t0', np.eye(4)), dtype=np.float64)
        return matrix

    def ground_settings(self) -> dict:
        """What the ground mask depends on besides the scan (the key of a
        stored one)."""
        return dict(
            source_key=self.source_key,
            ground_segmenter=self.ground_segmenter_cfg)

    def ground(self, results: dict) -> np.ndarray:
        """(N,) bool ground mask of the source scan: the stored one when
        ``results`` has ``cached_next_ground`` (``points_next`` only), else
        the segmenter's, run in the scan's sensor frame.

        Raises:
            VisibilityCacheError: Naming the file when the stored mask was
                made with other ground settings or for another point count.
        """
        points = results[self.source_key].tensor.numpy()
        stored = (
            results.get('cached_next_ground')
            if self.source_key == 'points_next' else None)
        if stored is None:
            t0_mask = self.t0_ground(results)
            if t0_mask is not None:
                return t0_mask
            return ground_mask(self.ground_segmenter, points,
                               self._sensor2frame(results))
        if stored['key'] != settings_key(self.ground_settings()):
            raise VisibilityCacheError(
                f"{stored['path']}: its t+1 ground mask was made with other "
                'ground settings than BEVOccupancyTarget has now '
                f'({self.ground_settings()}); re-run '
                'tools/cache_visibility.py --overwrite')
        if len(stored['mask']) != len(points):
            raise VisibilityCacheError(
                f"{stored['path']}: its t+1 ground mask has "
                f"{len(stored['mask'])} points, points_next {len(points)}")
        return stored['mask']

    def t0_ground(self, results: dict) -> Optional[np.ndarray]:
        """The t0 ground mask ``ProjectPointsToImages`` computed
        (``results['t0_ground']``) when it holds for the source scan: that
        scan is t0 itself in t0's sensor frame (``points``, or a
        ``points_next`` that fell back to t0, see
        :func:`~.correspondence.next_is_t0`), unchanged since but for the
        augmentation recorded in ``lidar_aug_matrix``, and the segmenter
        has this transform's settings; else None (segment it here)."""
        t0 = results.get('t0_ground') or {}
        fingerprint = (t0.get('scans') or {}).get(self.source_key)
        if (fingerprint is None
                or not same_segmenter(t0['segmenter'], self.ground_segmenter)
                or fingerprint_problem(results, self.source_key,
                                       fingerprint) is not None):
            return None
        return t0['mask']

    def transform(self, results: dict) -> dict:
        points = results[self.source_key].tensor.numpy()
        ground_fraction = 0.0
        if self.remove_ground and len(points):
            ground = self.ground(results)
            ground_fraction = float(ground.mean())
            points = points[~ground]
        results['occ_target'] = bev_occupancy(points, self.point_cloud_range,
                                              self.cell_size,
                                              self.num_height_bins)
        results['occ_ground_fraction'] = ground_fraction
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(point_cloud_range='
                f'{self.point_cloud_range}, cell_size={self.cell_size}, '
                f'num_height_bins={self.num_height_bins}, '
                f"source_key='{self.source_key}', "
                f'remove_ground={self.remove_ground}, '
                f'ground_segmenter={self.ground_segmenter!r})')
