# Copyright (c) HilDA authors. All rights reserved.
"""The info-file format HilDA writes: mmdet3d's nuScenes infos v1.1 plus
the temporal links (``scene_token``, ``prev``, ``next``)."""
from mmdet3d.datasets.convert_utils import nus_categories

INFO_VERSION = '1.1'


def nuscenes_metainfo(version: str) -> dict:
    """``metainfo`` of an info file: mmdet3d's keys plus HilDA's flag.

    Args:
        version (str): Data set version, e.g. ``'v1.0-trainval'``.
    """
    return dict(
        categories={name: i
                    for i, name in enumerate(nus_categories)},
        dataset='nuscenes',
        version=version,
        info_version=INFO_VERSION,
        hilda_temporal_links=True)
