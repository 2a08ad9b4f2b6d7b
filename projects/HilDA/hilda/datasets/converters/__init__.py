# Copyright (c) HilDA authors. All rights reserved.
"""Converters from raw datasets to HilDA's (mmdet3d v1.1) info files."""
from .nuscenes_infos import (CAMERA_TYPES, NUSCENES_SPLITS, NUSCENES_TABLES,
                             NuScenesInfoError, check_nuscenes_root,
                             create_nuscenes_infos, get_sample_info,
                             lidarseg_file_names, load_nuscenes,
                             nuscenes_metainfo, scene_sample_tokens,
                             split_scene_tokens)

__all__ = [
    'CAMERA_TYPES', 'NUSCENES_SPLITS', 'NUSCENES_TABLES', 'NuScenesInfoError',
    'check_nuscenes_root', 'create_nuscenes_infos', 'get_sample_info',
    'lidarseg_file_names', 'load_nuscenes', 'nuscenes_metainfo',
    'scene_sample_tokens', 'split_scene_tokens'
]
