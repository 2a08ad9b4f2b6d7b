# Copyright (c) HilDA authors. All rights reserved.
import logging
import os.path as osp
from typing import Optional

import numpy as np
from mmdet3d.datasets import NuScenesDataset
from mmdet3d.registry import DATASETS
from mmengine.logging import print_log

from ..utils.mmengine_compat import dataset_metainfo
from .info_format import (INFO_VERSION, LOAD_ERRORS, InfoFileError,
                          check_data_list, check_raw_info, read_error,
                          sample_name)
from .safe_infos import load_data_list_safely
from .transforms.loading import RIGID_TOL, BadSampleError, check_rigid

SUPPORTED_INFO_VERSIONS = (INFO_VERSION, )
# Temporal link checks (see HilDANuScenesDataset): nuScenes keyframes are
# 0.5 s apart and its cars drive below 20 m/s.
TEMPORAL_CHECKS = dict(max_time_gap=2.0, max_ego_speed=50.0, bad_link='error')

# Top-level keys of a neighbour that the link checks, the pose check and
# ``temporal`` read (with ``lidar_points``' path, pose and feature count).
LINK_KEYS = ('token', 'sample_idx', 'scene_token', 'timestamp', 'ego2global')


def link_problem(t0: dict, other: dict, key: str, max_time_gap: float,
                 max_ego_speed: float) -> Optional[str]:
    """What is wrong with ``other`` as the ``key`` (prev/next) keyframe
    of ``t0``; None when the link is plausible.

    Checks: not the sample itself, the same scene (when both name one),
    timestamps strictly before (prev) / after (next) t0 and at most
    ``max_time_gap`` seconds away, and an ego displacement between the two
    ``ego2global`` poses of at most ``max_ego_speed`` m/s times that gap.
    """
    token = other.get('token')
    if token is not None and token == t0.get('token'):
        return f'{key} keyframe is the sample itself'
    scenes = (t0.get('scene_token'), other.get('scene_token'))
    if None not in scenes and scenes[0] != scenes[1]:
        return (f'{key} keyframe {token} is in scene {scenes[1]}, not '
                f'{scenes[0]}')
    times = (t0.get('timestamp'), other.get('timestamp'))
    if None in times:
        return None
    gap = float(times[1]) - float(times[0])
    if (gap <= 0) if key == 'next' else (gap >= 0):
        return (f'{key} keyframe {token} has timestamp {times[1]}, not '
                f"{'after' if key == 'next' else 'before'} the sample's "
                f'{times[0]}')
    if abs(gap) > max_time_gap:
        return (f'{key} keyframe {token} is {abs(gap):.3g} s away (more '
                f'than max_time_gap={max_time_gap} s)')
    poses = (t0.get('ego2global'), other.get('ego2global'))
    if None not in poses:
        moved = float(
            np.linalg.norm(
                np.asarray(poses[1], np.float64)[:3, 3] -
                np.asarray(poses[0], np.float64)[:3, 3]))
        if moved > max_ego_speed * abs(gap):
            return (f'{key} keyframe {token} is {moved:.3g} m away in '
                    f'{abs(gap):.3g} s (faster than max_ego_speed='
                    f'{max_ego_speed} m/s)')
    return None


def checked_poses(info: dict, tol: float = RIGID_TOL, role: str = '') -> None:
    """Check that a parsed sample's ``lidar_points.lidar2ego`` and
    ``ego2global`` are finite rigid transforms.

    Args:
        info (dict): A parsed sample.
        tol (float): See :func:`check_rigid`.
        role (str): How the sample is used, for the message (e.g. ``' (the
            prev keyframe of sample X)'``).

    Raises:
        BadSampleError: ``'<lidar file>: sample <token><role>: <key> ...'``.
    """
    lidar = info.get('lidar_points') or {}
    where = lidar.get('lidar_path', 'info')
    for key, value in (('lidar2ego', lidar.get('lidar2ego')),
                       ('ego2global', info.get('ego2global'))):
        try:
            if value is None:
                raise ValueError(f'{key} is missing')
            check_rigid(value, key, tol)
        except ValueError as e:
            raise BadSampleError(
                f'{where}: {sample_name(info)}{role}: {e}') from e


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

    Checks: a missing, truncated or corrupt info file, an empty
    ``data_list``, a sample without ``lidar_points`` and (with cameras) a
    sample whose cameras differ from the others' raise
    :class:`InfoFileError` naming the file (and sample) when the dataset is
    built. Each time a sample is read, ``lidar2ego`` and
    ``ego2global`` of t0 and of its neighbours must be finite rigid
    transforms, else :class:`BadSampleError` names the LiDAR file, the
    sample token and the key (skippable with ``skip_bad_samples``).

    Temporal links are checked each time a sample is read
    (:func:`link_problem`): a prev/next keyframe that is the sample itself,
    lies in another scene, is not strictly earlier/later, is more than
    ``max_time_gap`` away or implies an ego speed above ``max_ego_speed``
    is a bad link. By default (``bad_link='error'``) it raises
    :class:`BadSampleError` naming the info file, the sample token and the
    problem: such links come from a broken converter and would train the
    temporal objective on wrong pairs; ``skip_bad_samples`` skips (and
    counts) those samples instead. ``bad_link='fallback'`` uses t0 in its
    place, as at a scene boundary, with a counted warning.

    Args:
        temporal (bool): Attach ``prev``/``next``. False for the ``masked``
            diffusion mode, which needs no sequence. Defaults to True.
        rigid_tol (float): Tolerance of the pose checks, see
            :func:`~.transforms.loading.check_rigid`. Defaults to 1e-3.
        allow_unsafe_pickle (bool): Read a ``.pkl`` info file with plain
            ``pickle`` (runs any code it carries); by default only plain
            values and numpy arrays are built, see :mod:`.safe_infos`.
            Defaults to False.
        allow_paths_outside_data_root (bool): Accept sample paths outside
            ``data_root``. Defaults to False.
        filter_empty_gt (bool): Defaults to False: pre-training needs no
            boxes.
        modality (dict): Defaults to LiDAR and cameras.
        temporal_checks (dict, optional): ``max_time_gap`` (s, default
            2.0), ``max_ego_speed`` (m/s, default 50) and ``bad_link``
            (``'error'``, the default, or ``'fallback'``), see above.
        **kwargs: The rest of :class:`mmdet3d.datasets.NuScenesDataset`'s
            arguments (``data_root``, ``ann_file``, ``data_prefix``,
            ``pipeline``, ...).
    """

    def __init__(self,
                 temporal: bool = True,
                 rigid_tol: float = RIGID_TOL,
                 filter_empty_gt: bool = False,
                 modality: dict = dict(use_lidar=True, use_camera=True),
                 temporal_checks: Optional[dict] = None,
                 allow_unsafe_pickle: bool = False,
                 allow_paths_outside_data_root: bool = False,
                 **kwargs) -> None:
        self.allow_unsafe_pickle = allow_unsafe_pickle
        self.allow_paths_outside_data_root = allow_paths_outside_data_root
        self.temporal = temporal
        self.rigid_tol = rigid_tol
        self.missing_neighbours = 0
        self._link_cache: dict = {}
        self.bad_links = 0
        unknown = set(temporal_checks or {}) - set(TEMPORAL_CHECKS)
        self.temporal_checks = dict(TEMPORAL_CHECKS, **(temporal_checks or {}))
        if unknown or self.temporal_checks['bad_link'] not in ('error',
                                                               'fallback'):
            raise ValueError(
                f'temporal_checks takes {sorted(TEMPORAL_CHECKS)} with '
                f"bad_link 'error' or 'fallback', got {temporal_checks}")
        super().__init__(
            filter_empty_gt=filter_empty_gt, modality=modality, **kwargs)

    def load_data_list(self) -> list:
        """Load the info file, with errors that name it."""
        if not self.backend_args and not osp.isfile(self.ann_file):
            raise InfoFileError(f'info file {self.ann_file} does not exist')
        try:
            data_list = load_data_list_safely(self)
        except LOAD_ERRORS as e:
            raise read_error(
                self.ann_file, e, '; convert raw nuScenes with '
                'tools/create_hilda_infos.py') from e
        check_data_list(self.ann_file, data_list,
                        self.modality.get('use_camera', False))
        self._token_to_idx = {
            info.get('token'): i
            for i, info in enumerate(data_list)
        }
        return data_list

    def parse_data_info(self, info: dict) -> dict:
        """Check the info version, then parse like ``NuScenesDataset`` and
        resolve the lidarseg path when there is one."""
        version = dataset_metainfo(self).get('info_version')
        if str(version) not in SUPPORTED_INFO_VERSIONS:
            raise InfoFileError(
                f'{self.ann_file}: info_version {version!r} is not '
                f'supported (expected {SUPPORTED_INFO_VERSIONS}); convert '
                'raw nuScenes with tools/create_hilda_infos.py')
        check_raw_info(self.ann_file, info,
                       self.modality.get('use_lidar', True))
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
        other = t0 if idx is None else self._link_fields(idx)
        if idx is not None:
            checked_poses(other, self.rigid_tol,
                          f' (the {key} keyframe of {sample_name(t0)})')
            idx = self._checked_link(t0, other, key, idx)
            other = t0 if idx is None else other
        return dict(
            lidar_path=other['lidar_points']['lidar_path'],
            num_pts_feats=other['lidar_points']['num_pts_feats'],
            lidar2t0=neighbour_to_t0(t0, other),
            timestamp=other.get('timestamp'),
            token=other.get('token'),
            is_fallback=idx is None)

    def _link_fields(self, idx: int) -> dict:
        """What the link checks and ``temporal`` read of sample ``idx``
        (pose, scan, time, scene), parsed once per process: unpickling
        the whole sample (its boxes and cameras) for each neighbour of
        each sample cost more than the rest of :meth:`get_data_info`."""
        fields = self._link_cache.get(idx)
        if fields is None:
            info = super().get_data_info(idx)
            lidar = info.get('lidar_points') or {}
            fields = {k: info[k] for k in LINK_KEYS if k in info}
            fields['lidar_points'] = {
                k: lidar[k]
                for k in ('lidar_path', 'lidar2ego', 'num_pts_feats')
                if k in lidar
            }
            self._link_cache[idx] = fields
        return fields

    def _checked_link(self, t0: dict, other: dict, key: str,
                      idx: int) -> Optional[int]:
        """``idx`` when the link is plausible; else an error or (with
        ``bad_link='fallback'``) None, counted and logged."""
        checks = self.temporal_checks
        problem = link_problem(t0, other, key, checks['max_time_gap'],
                               checks['max_ego_speed'])
        if problem is None:
            return idx
        message = f'{self.ann_file}: {sample_name(t0)}: {problem}'
        if checks['bad_link'] == 'error':
            raise BadSampleError(message +
                                 " (temporal_checks=dict(bad_link='fallback') "
                                 'uses t0 instead)')
        self.bad_links += 1
        if self.bad_links == 1 or self.bad_links % 1000 == 0:
            print_log(
                f'{message}; using t0 instead ({self.bad_links} bad links '
                'so far)',
                logger='current',
                level=logging.WARNING)
        return None

    def get_data_info(self, idx: int) -> dict:
        """The parsed sample with checked poses; with ``temporal``, plus
        ``temporal`` (``prev``/``next``, see the class docstring)."""
        info = super().get_data_info(idx)
        checked_poses(info, self.rigid_tol)
        if self.temporal:
            info['temporal'] = dict(
                prev=self._neighbour(info, 'prev'),
                next=self._neighbour(info, 'next'))
        return info

    def prepare_data(self, index: int) -> Optional[dict]:
        """mmdet3d's ``prepare_data`` without its deep copy of the sample:
        :meth:`get_data_info` returns a fresh copy already (mmengine
        unpickles or copies it), and a second copy of a nuScenes info with
        its boxes costs more than some pipeline steps."""
        if self.filter_empty_gt or self.show_ins_var:
            return super().prepare_data(index)
        input_dict = self.get_data_info(index)
        input_dict['box_type_3d'] = self.box_type_3d
        input_dict['box_mode_3d'] = self.box_mode_3d
        return self.pipeline(input_dict)
