# Copyright (c) HilDA authors. All rights reserved.
import logging
import os.path as osp
from typing import Optional

import numpy as np
from mmdet3d.datasets import NuScenesDataset
from mmdet3d.registry import DATASETS
from mmengine.logging import print_log

from .info_format import INFO_VERSION

SUPPORTED_INFO_VERSIONS = (INFO_VERSION, )


class InfoFileError(ValueError):
    """An info file the dataset cannot read; the message names the file."""


def neighbour_to_t0(t0: dict, other: dict) -> np.ndarray:
    """4x4 map from another keyframe's LiDAR frame into t0's LiDAR frame.

    ``inv(lidar2ego_t0) @ inv(ego2global_t0) @ ego2global_n @ lidar2ego_n``.
    """
    def mat(info, key):
        value = info['lidar_points'][key] if key == 'lidar2ego' else \
            info[key]
        return np.asarray(value, dtype=np.float64)

    t0_to_global = mat(t0, 'ego2global') @ mat(t0, 'lidar2ego')
    other_to_global = mat(other, 'ego2global') @ mat(other, 'lidar2ego')
    return np.linalg.inv(t0_to_global) @ other_to_global


@DATASETS.register_module()
class HilDANuScenesDataset(NuScenesDataset):
    """nuScenes-format (mmdet3d info v1.1) samples with their neighbouring
    keyframes, for HilDA pre-training.

    Each sample is mmdet3d's ``NuScenesDataset`` sample (t0 scan, cameras,
    calibration, boxes if any) plus ``temporal``: for ``prev`` (t-1) and
    ``next`` (t+1) the scan file and ``lidar2t0``, the rigid map of that
    scan into the t0 LiDAR frame built from both frames' ``lidar2ego`` and
    ``ego2global``. Neighbours come from the ``prev``/``next`` sample tokens
    that ``tools/create_hilda_infos.py`` and ``tools/create_demo_data.py``
    write.

    Fallback: at a scene's first (last) keyframe there is no t-1 (t+1); the
    t0 scan itself stands in (identity ``lidar2t0``, ``is_fallback=True``),
    so the temporal objective degrades to predicting the present, never a
    crash. A neighbour token missing from the info file (e.g. a filtered
    sample) is treated the same way and counted in a warning.

    Args:
        temporal (bool): Attach ``prev``/``next``. False for the ``masked``
            diffusion mode, which needs no sequence. Defaults to True.
        filter_empty_gt (bool): Defaults to False: pre-training needs no
            boxes.
        modality (dict): Defaults to LiDAR and cameras.
        **kwargs: The rest of :class:`mmdet3d.datasets.NuScenesDataset`'s
            arguments (``data_root``, ``ann_file``, ``data_prefix``,
            ``pipeline``, ...).
    """

    def __init__(self,
                 temporal: bool = True,
                 filter_empty_gt: bool = False,
                 modality: dict = dict(use_lidar=True, use_camera=True),
                 **kwargs) -> None:
        self.temporal = temporal
        self.missing_neighbours = 0
        super().__init__(
            filter_empty_gt=filter_empty_gt, modality=modality, **kwargs)

    def load_data_list(self) -> list:
        """Load the info file, with errors that name it."""
        if not self.backend_args and not osp.isfile(self.ann_file):
            raise InfoFileError(f'info file {self.ann_file} does not exist')
        try:
            data_list = super().load_data_list()
        except (TypeError, ValueError) as e:
            if isinstance(e, InfoFileError):
                raise
            raise InfoFileError(
                f'{self.ann_file}: not an mmdet3d info file of version '
                f'{"/".join(SUPPORTED_INFO_VERSIONS)} ({e}); convert raw '
                'nuScenes with tools/create_hilda_infos.py') from e
        self._token_to_idx = {
            info.get('token'): i
            for i, info in enumerate(data_list)
        }
        return data_list

    def parse_data_info(self, info: dict) -> dict:
        """Check the info version, then parse like ``NuScenesDataset`` and
        resolve the lidarseg path when there is one."""
        version = self._metainfo.get('info_version')
        if str(version) not in SUPPORTED_INFO_VERSIONS:
            raise InfoFileError(
                f'{self.ann_file}: info_version {version!r} is not '
                f'supported (expected {SUPPORTED_INFO_VERSIONS}); convert '
                'raw nuScenes with tools/create_hilda_infos.py')
        if 'pts_semantic_mask_path' in info:
            info['pts_semantic_mask_path'] = osp.join(
                self.data_prefix.get('pts_semantic_mask', ''),
                info['pts_semantic_mask_path'])
        return super().parse_data_info(info)

    def _neighbour(self, t0: dict, key: str) -> dict:
        token = t0.get(key, '')
        idx: Optional[int] = self._token_to_idx.get(token) if token else None
        if token and idx is None:
            self.missing_neighbours += 1
            if self.missing_neighbours == 1 or \
                    self.missing_neighbours % 1000 == 0:
                print_log(
                    f'{self.ann_file}: {key} keyframe {token} of sample '
                    f"{t0.get('token')} is not in the info file; using t0 "
                    f'instead ({self.missing_neighbours} so far)',
                    logger='current',
                    level=logging.WARNING)
        other = t0 if idx is None else super().get_data_info(idx)
        return dict(
            lidar_path=other['lidar_points']['lidar_path'],
            num_pts_feats=other['lidar_points']['num_pts_feats'],
            lidar2t0=neighbour_to_t0(t0, other),
            timestamp=other.get('timestamp'),
            token=other.get('token'),
            is_fallback=idx is None)

    def get_data_info(self, idx: int) -> dict:
        """The parsed sample; with ``temporal``, plus ``temporal``
        (``prev``/``next``, see the class docstring)."""
        info = super().get_data_info(idx)
        if self.temporal:
            info['temporal'] = dict(
                prev=self._neighbour(info, 'prev'),
                next=self._neighbour(info, 'next'))
        return info
