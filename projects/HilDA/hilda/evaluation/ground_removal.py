# Copyright (c) HilDA authors. All rights reserved.
"""How much of a scan a ground segmenter removes, and how fast.

With lidarseg labels (the demo world's), it also reports the share of the
labelled ground (``flat.*`` classes) removed and of everything else.
"""
import os.path as osp
import time
from typing import Dict, Optional, Sequence

import mmengine
import numpy as np

from ..datasets.transforms.loading import load_points_file

# nuScenes lidarseg ids of flat.driveable_surface, flat.other, flat.sidewalk,
# flat.terrain.
GROUND_LABELS = (24, 25, 26, 27)


def ground_removal_stats(data_root: str,
                         ann_file: str,
                         segmenter,
                         max_samples: Optional[int] = None,
                         load_dim: int = 5,
                         pts_prefix: str = 'samples/LIDAR_TOP',
                         label_prefix: Optional[str] = None,
                         ground_labels: Sequence[int] = GROUND_LABELS,
                         repeats: int = 5) -> Dict[str, float]:
    """Share of points removed, per-scan time, and (with labels) recalls.

    Args:
        data_root (str): Data root.
        ann_file (str): Info file relative to ``data_root``.
        segmenter (callable): ``(N, >=3) -> (N,) bool`` ground mask.
        max_samples (int, optional): First N samples.
        load_dim (int): Values per point in the ``.bin`` files.
        pts_prefix (str): Folder of the scans (bare names in the infos);
            the data root itself is tried too.
        label_prefix (str, optional): Folder of the lidarseg ``.bin`` files
            named by ``pts_semantic_mask_path``; None: no labels.
        ground_labels (Sequence[int]): Lidarseg ids counted as ground.
        repeats (int): Timed calls per scan (after one untimed call that
            builds the segmenter); the median over all calls is reported.

    Returns:
        dict[str, float]: ``scans``, ``points``, ``removed`` (share),
        ``median_ms`` (segmenter time per scan), and with labels
        ``ground_removed`` and ``other_removed`` (shares).
    """
    infos = mmengine.load(osp.join(data_root, ann_file))['data_list']
    removed = total = 0
    ground_hit = ground_all = other_hit = other_all = 0
    times, scans = [], 0
    for info in infos[:max_samples]:
        name = info['lidar_points']['lidar_path']
        path = osp.join(data_root, pts_prefix, name)
        if not osp.isfile(path):
            path = osp.join(data_root, name)
        points = load_points_file(path, load_dim, list(range(load_dim)))
        ground = np.asarray(segmenter(points), bool)
        for _ in range(repeats):
            start = time.perf_counter()
            segmenter(points)
            times.append(time.perf_counter() - start)
        scans += 1
        removed += int(ground.sum())
        total += len(points)
        if label_prefix is not None and info.get('pts_semantic_mask_path'):
            labels = np.fromfile(
                osp.join(data_root, label_prefix,
                         info['pts_semantic_mask_path']),
                dtype=np.uint8)
            is_ground = np.isin(labels, ground_labels)
            ground_hit += int((ground & is_ground).sum())
            ground_all += int(is_ground.sum())
            other_hit += int((ground & ~is_ground).sum())
            other_all += int((~is_ground).sum())
    stats = dict(
        scans=scans,
        points=total,
        removed=removed / max(total, 1),
        median_ms=1000 * float(np.median(times)) if times else 0.0)
    if ground_all:
        stats.update(
            ground_removed=ground_hit / ground_all,
            other_removed=other_hit / max(other_all, 1))
    return stats
