# Copyright (c) HilDA authors. All rights reserved.
import logging
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS
from mmengine.logging import print_log

from .projection import project_points


@TRANSFORMS.register_module()
class ProjectPointsToImages(BaseTransform):
    """Point-pixel correspondences between the t0 scan and every camera.

    Runs after the image augmentations (it reads the updated ``lidar2img``)
    and before any point augmentation: rotations, flips, scaling and
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

    Args:
        min_depth (float): Minimum depth in front of a camera (m).
            Defaults to 0.1.
        occlusion_stride (int, optional): Enable the depth test at this cell
            size in pixels (the teacher's patch size, e.g. 14); None
            disables it. Defaults to None.
        occlusion_margin (float): Absolute depth tolerance (m).
        occlusion_rel (float): Relative depth tolerance.
    """

    def __init__(self,
                 min_depth: float = 0.1,
                 occlusion_stride: Optional[int] = None,
                 occlusion_margin: float = 0.5,
                 occlusion_rel: float = 0.05) -> None:
        self.min_depth = min_depth
        self.occlusion_stride = occlusion_stride
        self.occlusion_margin = occlusion_margin
        self.occlusion_rel = occlusion_rel
        self.empty_camera_count = 0

    def transform(self, results: dict) -> dict:
        pairs = project_points(
            results['points'].tensor.numpy(),
            results['lidar2img'],
            results['img_shapes'],
            min_depth=self.min_depth,
            occlusion_stride=self.occlusion_stride,
            occlusion_margin=self.occlusion_margin,
            occlusion_rel=self.occlusion_rel)
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
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_depth={self.min_depth}, '
                f'occlusion_stride={self.occlusion_stride})')
