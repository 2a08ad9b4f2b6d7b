# Copyright (c) HilDA authors. All rights reserved.
"""The info-file format HilDA writes: mmdet3d's nuScenes infos v1.1 plus
the temporal links (``scene_token``, ``prev``, ``next``)."""
import pickle
from collections import Counter

from mmdet3d.datasets.convert_utils import nus_categories

from ..errors import HilDAError

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


class InfoFileError(HilDAError, ValueError):
    """An info file the dataset cannot read; the message names the file."""


# What reading a truncated or corrupt file raises (pickle: EOFError or
# UnpicklingError; JSON: a ValueError); mmengine's own format checks raise
# TypeError / ValueError.
LOAD_ERRORS = (EOFError, pickle.UnpicklingError, TypeError, ValueError)


def read_error(ann_file: str,
               error: Exception,
               hint: str = '') -> InfoFileError:
    """One-line :class:`InfoFileError` for an exception met while reading
    ``ann_file`` with mmengine (the original exception is chained)."""
    if isinstance(error, InfoFileError):
        return error
    if isinstance(error, (EOFError, pickle.UnpicklingError)):
        what = 'truncated or corrupt file'
    else:
        what = f'not an mmdet3d info file of version {INFO_VERSION}'
    return InfoFileError(
        f'{ann_file}: {what} ({type(error).__name__}: {error}){hint}')


def sample_name(info: dict) -> str:
    """``sample <token>`` (or ``sample #<sample_idx>``) for messages."""
    if info.get('token'):
        return f"sample {info['token']}"
    return f"sample #{info.get('sample_idx', '?')}"


def check_raw_info(ann_file: str, info: dict, use_lidar: bool = True) -> None:
    """Check one raw ``data_list`` entry before mmdet3d parses it.

    Raises:
        InfoFileError: Not a dict, or (``use_lidar``) no
            ``lidar_points.lidar_path``; the message names the file and
            the sample.
    """
    if not isinstance(info, dict):
        raise InfoFileError(
            f'{ann_file}: a data_list entry is a {type(info).__name__}, '
            'not a dict')
    if use_lidar:
        lidar = info.get('lidar_points')
        if not isinstance(lidar, dict) or 'lidar_path' not in lidar:
            raise InfoFileError(
                f'{ann_file}: {sample_name(info)} has no '
                '"lidar_points" with a "lidar_path" (is this a LiDAR info '
                'file of mmdet3d v1.1?)')


def check_data_list(ann_file: str,
                    data_list: list,
                    use_camera: bool = False) -> None:
    """Check the parsed ``data_list`` of an info file as a whole.

    Args:
        ann_file (str): The info file, for the messages.
        data_list (list[dict]): Parsed samples.
        use_camera (bool): Every sample must have the same cameras (a
            batch stacks them).

    Raises:
        InfoFileError: No sample, or a sample whose cameras differ from
            the others'.
    """
    if not data_list:
        raise InfoFileError(f'{ann_file}: data_list is empty (no samples)')
    if not use_camera:
        return
    rigs = Counter(tuple(info.get('images') or ()) for info in data_list)
    if len(rigs) == 1:
        return
    usual = max(rigs, key=lambda rig: (rigs[rig], len(rig)))
    for info in data_list:
        rig = tuple(info.get('images') or ())
        if rig != usual:
            missing = sorted(set(usual) - set(rig))
            extra = sorted(set(rig) - set(usual))
            raise InfoFileError(
                f'{ann_file}: {sample_name(info)} has {len(rig)} cameras '
                f'(missing {missing or "none"}, extra {extra or "none"}) '
                f'where {rigs[usual]} of {len(data_list)} samples have '
                f'{len(usual)}; every sample needs the same cameras')
