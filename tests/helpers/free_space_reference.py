# Copyright (c) HilDA authors. All rights reserved.
"""The free-space occlusion test as first written (per-sample lookups in
the range image, no tabulated tolerance), kept as the reference the fast
:func:`~projects.HilDA.hilda.datasets.transforms.projection.\
visible_in_free_space` must agree with pair for pair."""
import numpy as np

from projects.HilDA.hilda.datasets.transforms.projection import LidarRangeImage


def reference_free_space(points,
                         centres,
                         valid,
                         ground=None,
                         num_samples=24,
                         margin=0.3,
                         rel=0.02,
                         neighbours=1,
                         elevation_step=0.2,
                         chunk=200000,
                         **range_image_kwargs):
    """(C, N) bool; arguments as ``visible_in_free_space``."""
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
    stop = 1.0 - np.maximum(margin, rel * length) / np.maximum(length, 1e-9)
    frac = np.arange(1, num_samples + 1) / (num_samples + 1)
    hidden = np.zeros(len(idx), dtype=bool)
    step = max(1, chunk // num_samples)
    for lo in range(0, len(idx), step):
        sl = slice(lo, lo + step)
        sample = (start[sl, None] + frac[None, :, None] * delta[sl, None])
        surface, sample_range = image.lookup(sample.reshape(-1, 3))
        behind = sample_range > surface + np.maximum(margin, rel * surface)
        behind = behind.reshape(-1, num_samples) & (
            frac[None] < stop[sl, None])
        hidden[sl] = behind.any(1)
    visible[cam[~hidden], idx[~hidden]] = True
    return visible
