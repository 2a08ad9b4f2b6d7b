# Copyright (c) HilDA authors. All rights reserved.
import inspect
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
from mmdet3d.datasets.transforms import Pack3DDetInputs
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures.points import BasePoints
from mmengine.structures import InstanceData

from .augmentation import CV2_DTYPES
from .correspondence import check_pairs_match_points

HILDA_META_KEYS = ('token', 'lidar_aug_matrix', 'img_aug_matrix',
                   'temporal_fallback', 'cam_names', 'img_shapes',
                   'teacher_cache_key', 'teacher_cache_levels',
                   'teacher_input_size')


def stack_channels_first(imgs) -> Optional[torch.Tensor]:
    """(C, channels, H, W) tensor of a list of (H, W, channels) images of
    one shape and dtype, as mmdet3d's packing makes it (``np.stack``, then
    ``permute(0, 3, 1, 2).contiguous()``), copied plane by plane with
    ``cv2.split`` (torch's strided copy of the permuted stack is many times
    slower); None for anything else (mmdet3d packs it)."""
    if not isinstance(imgs, list) or not imgs:
        return None
    first = imgs[0]
    if (not isinstance(first, np.ndarray) or first.ndim != 3
            or not 1 <= first.shape[2] <= 4 or first.dtype not in CV2_DTYPES
            or any(not isinstance(img, np.ndarray) or img.shape != first.shape
                   or img.dtype != first.dtype for img in imgs)):
        return None
    height, width, channels = first.shape
    out = np.empty((len(imgs), channels, height, width), dtype=first.dtype)
    for i, img in enumerate(imgs):
        planes = cv2.split(img) if channels > 1 else [img[..., 0]]
        for c, plane in enumerate(planes):
            out[i, c] = plane
    return torch.from_numpy(out)


@TRANSFORMS.register_module()
class PackHilDAInputs(Pack3DDetInputs):
    """mmdet3d's ``Pack3DDetInputs`` plus the pre-training fields.

    Inputs get the neighbouring scans next to ``points`` and ``img``; the
    data sample gets the correspondences as an ``InstanceData`` (one row
    per point-pixel pair) and the occupancy target and superpixels as
    tensors.

    Required Keys:

    - points, img and any of points_prev, points_next, pair_point_idx,
      pair_cam_idx, pair_uv, occ_target, superpixels

    Added Keys:

    - inputs (dict): points, img, points_prev, points_next (tensors),
      teacher_feats (list of per-level tensors), teacher_cls
    - data_samples (:obj:`Det3DDataSample`): ``correspondences``
      (point_idx, cam_idx, uv), ``occ_target``, ``superpixels`` and the
      meta keys (``lidar2img``, ``lidar_aug_matrix``, ...)

    Raises:
        PairsMismatchError: when a transform after ``ProjectPointsToImages``
            dropped, added or reordered points (the pairs index them).

    Args:
        keys (Sequence[str]): As in ``Pack3DDetInputs``. Defaults to
            ('points', 'img').
        meta_keys (Sequence[str]): mmdet3d's defaults plus HilDA's.
    """

    TEMPORAL_INPUT_KEYS = ('points_prev', 'points_next')
    TENSOR_SAMPLE_KEYS = ('occ_target', 'superpixels')

    def __init__(self,
                 keys: Sequence[str] = ('points', 'img'),
                 meta_keys: Optional[Sequence[str]] = None) -> None:
        if meta_keys is None:
            mmdet3d_keys = inspect.signature(
                Pack3DDetInputs.__init__).parameters['meta_keys'].default
            meta_keys = tuple(mmdet3d_keys) + HILDA_META_KEYS
        super().__init__(keys=tuple(keys), meta_keys=tuple(meta_keys))

    def pack_single_results(self, results: dict) -> dict:
        # Before mmdet3d's packing turns the points into a tensor.
        check_pairs_match_points(results)
        images = stack_channels_first(results.get('img'))
        if images is not None:
            del results['img']
            packed = super().pack_single_results(results)
            results['img'] = images
            # mmdet3d's order of the inputs (self.keys), images included.
            packed['inputs'] = {
                key: images if key == 'img' else packed['inputs'][key]
                for key in self.keys if key == 'img' or key in packed['inputs']
            }
        else:
            packed = super().pack_single_results(results)
        inputs, sample = packed['inputs'], packed['data_samples']
        if 'teacher_feats' in results:  # LoadTeacherFeatures
            inputs['teacher_feats'] = [
                torch.from_numpy(f) for f in results['teacher_feats']
            ]
            inputs['teacher_cls'] = torch.from_numpy(results['teacher_cls'])
        for key in self.TEMPORAL_INPUT_KEYS:
            if key in results:
                points = results[key]
                inputs[key] = points.tensor if isinstance(
                    points, BasePoints) else torch.as_tensor(points)
        if 'pair_point_idx' in results:
            sample.correspondences = InstanceData(
                point_idx=torch.from_numpy(results['pair_point_idx']),
                cam_idx=torch.from_numpy(results['pair_cam_idx']),
                uv=torch.from_numpy(results['pair_uv']))
        for key in self.TENSOR_SAMPLE_KEYS:
            if key in results:
                sample.set_data({key: torch.from_numpy(results[key])})
        return packed
