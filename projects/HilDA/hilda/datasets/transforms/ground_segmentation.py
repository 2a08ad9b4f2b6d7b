# Copyright (c) HilDA authors. All rights reserved.
"""Ground segmentation of one LiDAR scan in its own sensor frame.

The paper removes the ground from the t+1 scan before it becomes the
diffusion target. :class:`PatchworkPPGroundSegmenter` does it with
Patchwork++ (``pypatchworkpp``, the paper-grade default);
:class:`PlaneFitGroundSegmenter` is the project's simple one (one robust
plane, then a height threshold): the ground of the t0 scan for the
free-space occlusion test in the dataset configs, and the fallback when
Patchwork++ cannot be imported and the config allows it.

Both are registered in ``TASK_UTILS`` and called as
``segmenter(points) -> (N,) bool ground mask`` with ``points`` (N, >=3) in
the scanning sensor's frame (z up, the sensor at the origin).
"""
import contextlib
import logging
import os
import sys
from typing import Optional

import numpy as np
from mmdet3d.registry import TASK_UTILS
from mmengine.logging import print_log

from .projection import transform_xyz


@contextlib.contextmanager
def _quiet_stdout():
    """Silence C-level writes to stdout (file descriptor 1)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, 'w') as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _plane_fit(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple:
    """Least-squares ``z = a x + b y + c`` through the normal equations: a
    3x3 system of the points' sums, one pass over the points instead of a
    solver on the (N, 3) design matrix. The sums are numpy's own (no BLAS
    call, whose thread pool would fight other processes)."""
    sx, sy, n = x.sum(), y.sum(), float(len(x))
    sxy = (x * y).sum()
    normal = np.array([[(x * x).sum(), sxy, sx], [sxy, (y * y).sum(), sy],
                       [sx, sy, n]])
    rhs = np.array([(x * z).sum(), (y * z).sum(), z.sum()])
    # lstsq: a degenerate set (all points on one line) still gives a plane.
    return tuple(np.linalg.lstsq(normal, rhs, rcond=None)[0])


@TASK_UTILS.register_module()
class PlaneFitGroundSegmenter:
    """One robust ground plane, then a height threshold above it.

    Seeds are the points below ``seed_height`` over the expected ground
    (``-sensor_height``); a least-squares plane ``z = a x + b y + c`` is
    refitted ``num_iter`` times on the points within ``max_height`` of it.
    Points within ``[min_range, max_range]`` (horizontal) and less than
    ``max_height`` above the plane are ground (``num_iter=0``: a height
    threshold). A single plane cannot follow slopes or curbs far away:
    the paper's target uses Patchwork++. The occlusion test, which uses
    the ground only so that what stands on it stays visible, is as
    accurate with this on the demo and the real keyframe
    (docs/data_pipeline.md).

    Args:
        sensor_height (float): Height of the sensor above the ground (m);
            nuScenes' LIDAR_TOP is about 1.84 m up. Defaults to 1.84.
        max_height (float): Points lower than this above the plane are
            ground (m). Defaults to 0.25.
        seed_height (float): Seeds lie below the expected ground plus this
            (m). Defaults to 0.5.
        num_iter (int): Refits. Defaults to 3.
        min_range (float): Horizontal range below which nothing is ground
            (the ego's own returns). Defaults to 2.7 (Patchwork++'s).
        max_range (float): Horizontal range beyond which nothing is ground.
            Defaults to 80.0.
    """

    def __init__(self,
                 sensor_height: float = 1.84,
                 max_height: float = 0.25,
                 seed_height: float = 0.5,
                 num_iter: int = 3,
                 min_range: float = 2.7,
                 max_range: float = 80.0) -> None:
        self.sensor_height = sensor_height
        self.max_height = max_height
        self.seed_height = seed_height
        self.num_iter = num_iter
        self.min_range = min_range
        self.max_range = max_range

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points)
        x, y, z = (points[:, i].astype(np.float64) for i in range(3))
        range_sq = x * x + y * y
        in_range = ((range_sq >= self.min_range**2)
                    & (range_sq <= self.max_range**2))
        inliers = in_range & (z < -self.sensor_height + self.seed_height)
        a, b, c = 0.0, 0.0, -self.sensor_height
        for _ in range(self.num_iter):
            if inliers.sum() < 3:
                break
            a, b, c = _plane_fit(x[inliers], y[inliers], z[inliers])
            inliers = in_range & (
                np.abs(z - (a * x + b * y + c)) < self.max_height)
        return in_range & (z - (a * x + b * y + c) < self.max_height)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sensor_height='
                f'{self.sensor_height}, max_height={self.max_height}, '
                f'seed_height={self.seed_height}, num_iter={self.num_iter}, '
                f'min_range={self.min_range}, max_range={self.max_range})')


@TASK_UTILS.register_module()
class PatchworkPPGroundSegmenter:
    """Patchwork++ (Lee et al., IROS 2022) through ``pypatchworkpp``.

    The defaults are Patchwork++'s own except ``sensor_height`` (nuScenes'
    LIDAR_TOP, about 1.84 m above the road) and ``intensity_scale``.

    Args:
        sensor_height (float): Sensor height above the ground (m).
            Defaults to 1.84.
        min_range (float): Inner radius of the ground model (m).
            Defaults to 2.7.
        max_range (float): Outer radius of the ground model (m); farther
            points are never ground. Defaults to 80.0.
        th_seeds (float): Seed threshold above the lowest points (m).
            Defaults to 0.125.
        th_dist (float): Ground thickness (m). Defaults to 0.125.
        uprightness_thr (float): Minimum normal z of a ground patch.
            Defaults to 0.707.
        enable_rnr (bool): Reflected-noise removal (needs intensity).
            Defaults to True.
        intensity_scale (float): Divides the 4th column before it reaches
            Patchwork++, whose thresholds assume intensities in [0, 1]
            (nuScenes and the demo store 0-255). Defaults to 255.0.
        extra_params (dict, optional): Any other ``pypatchworkpp.Parameters``
            attribute, by name.
        fallback (dict, optional): Segmenter config used, with a warning,
            when ``pypatchworkpp`` cannot be imported; None raises instead.
            Defaults to ``dict(type='PlaneFitGroundSegmenter')``.
    """

    def __init__(
        self,
        sensor_height: float = 1.84,
        min_range: float = 2.7,
        max_range: float = 80.0,
        th_seeds: float = 0.125,
        th_dist: float = 0.125,
        uprightness_thr: float = 0.707,
        enable_rnr: bool = True,
        intensity_scale: float = 255.0,
        extra_params: Optional[dict] = None,
        fallback: Optional[dict] = dict(type='PlaneFitGroundSegmenter')
    ) -> None:
        self.params = dict(
            sensor_height=sensor_height,
            min_range=min_range,
            max_range=max_range,
            th_seeds=th_seeds,
            th_dist=th_dist,
            uprightness_thr=uprightness_thr,
            enable_RNR=enable_rnr,
            **(extra_params or {}))
        self.intensity_scale = intensity_scale
        self.fallback = fallback
        # (module, Parameters), built lazily: pybind11 objects do not pickle
        # into dataloader workers.
        self._impl = None
        self._fallback = None

    def _build(self):
        try:
            import pypatchworkpp
        except ImportError as e:
            if self.fallback is None:
                raise ImportError(
                    'PatchworkPPGroundSegmenter: pypatchworkpp cannot be '
                    f'imported ({e}); install pypatchworkpp==1.4.1 or set '
                    'a fallback segmenter') from e
            print_log(
                f'pypatchworkpp cannot be imported ({e}): ground removal '
                f'falls back to {self.fallback}',
                logger='current',
                level=logging.WARNING)
            self._fallback = TASK_UTILS.build(self.fallback)
            return None
        params = pypatchworkpp.Parameters()
        for name, value in self.params.items():
            if not hasattr(params, name):
                raise ValueError(
                    f'PatchworkPPGroundSegmenter: pypatchworkpp.Parameters '
                    f'has no attribute {name!r}')
            setattr(params, name, value)
        return pypatchworkpp, params

    def __getstate__(self) -> dict:
        return dict(self.__dict__, _impl=None)

    def _ready(self) -> None:
        if self._impl is None and self._fallback is None:
            self._impl = self._build()

    @property
    def backend(self) -> str:
        """``'patchworkpp'`` or the fallback's class name."""
        self._ready()
        return ('patchworkpp'
                if self._fallback is None else type(self._fallback).__name__)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        self._ready()
        if self._fallback is not None:
            return self._fallback(points)
        points = np.asarray(points)
        cloud = np.zeros((len(points), 4))
        cloud[:, :3] = points[:, :3]
        if points.shape[1] > 3:
            cloud[:, 3] = points[:, 3] / self.intensity_scale
        ground = np.zeros(len(points), dtype=bool)
        if len(points):
            # A fresh instance per scan: Patchwork++ adapts its thresholds
            # from scan to scan, so a long-lived one would label the same
            # scan differently depending on what it saw before (and break
            # same-seed reproducibility). Building one costs microseconds.
            module, params = self._impl
            with _quiet_stdout():  # its constructor prints a banner
                impl = module.patchworkpp(params)
            impl.estimateGround(cloud)
            ground[impl.getGroundIndices()] = True
        return ground

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.params})'


def same_segmenter(a, b) -> bool:
    """Whether two segmenters label every scan alike: the same class with
    the same settings (their public attributes)."""

    def settings(segmenter):
        return type(segmenter), {
            k: v
            for k, v in vars(segmenter).items() if not k.startswith('_')
        }

    return a is b or (a is not None and b is not None
                      and settings(a) == settings(b))


def ground_mask(segmenter,
                points: np.ndarray,
                sensor2frame: Optional[np.ndarray] = None) -> np.ndarray:
    """Ground mask of a scan given in another frame.

    Args:
        segmenter (callable): e.g. :class:`PatchworkPPGroundSegmenter`.
        points (np.ndarray): (N, >=3) points in some frame.
        sensor2frame (np.ndarray, optional): 4x4 map from the scanning
            sensor's frame to that frame; its inverse brings the points back
            to where the segmenter's geometry (sensor at the origin, height
            above the ground) holds. None: already in the sensor frame.

    Returns:
        np.ndarray: (N,) bool.
    """
    if sensor2frame is None:
        points = np.asarray(points, dtype=np.float64)
    else:
        frame2sensor = np.linalg.inv(np.asarray(sensor2frame, np.float64))
        points = np.array(points, dtype=np.float64)  # a copy, moved in place
        transform_xyz(points, frame2sensor, out=points)
    return np.asarray(segmenter(points), dtype=bool)


__all__ = [
    'PlaneFitGroundSegmenter', 'PatchworkPPGroundSegmenter', 'ground_mask',
    'same_segmenter'
]
