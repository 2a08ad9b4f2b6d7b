# Copyright (c) HilDA authors. All rights reserved.
"""nuScenes info files (mmdet3d info v1.1) with HilDA's temporal links.

The files hold what mmdet3d 1.4's nuScenes infos hold (its
``tools/dataset_converters/nuscenes_converter.py`` followed by
``update_infos_to_v2.py``), so mmdet3d's ``NuScenesDataset`` and
``LoadPointsFromMultiSweeps`` read them unchanged::

    {'metainfo': {'categories': {'car': 0, ..., 'barrier': 9},
                  'dataset': 'nuscenes', 'version': 'v1.0-trainval',
                  'info_version': '1.1', 'hilda_temporal_links': True},
     'data_list': [{
        'sample_idx': int, 'token': str, 'timestamp': float (seconds),
        'ego2global': 4x4,
        'images': {'CAM_FRONT': {'img_path': bare name, 'cam2img': 3x3,
                                 'cam2ego': 4x4, 'sample_data_token': str,
                                 'timestamp': float, 'lidar2cam': 4x4,
                                 'width': int, 'height': int},
                   ...},
        'lidar_points': {'num_pts_feats': 5, 'lidar_path': bare name,
                         'lidar2ego': 4x4},
        'lidar_sweeps': [{'lidar_points': {'lidar_path': str,
                                           'lidar2ego': 4x4,
                                           'lidar2sensor': 4x4},
                          'ego2global': 4x4, 'timestamp': float,
                          'sample_data_token': str}, ...],
        'instances': [{'bbox_label': int, 'bbox_3d': 7 floats,
                       'bbox_3d_isvalid': bool, 'bbox_label_3d': int,
                       'num_lidar_pts': int, 'num_radar_pts': int,
                       'velocity': 2 floats}, ...],
        'pts_semantic_mask_path': bare name (only with nuScenes-lidarseg),
        'scene_token': str, 'prev': str, 'next': str}, ...]}

What differs from mmdet3d's files, and why:

- HilDA's additions: ``scene_token``, ``prev`` and ``next`` (nuScenes' own
  ``sample.prev``/``sample.next``: the previous/next keyframe of the same
  scene, ``''`` at either end) and ``metainfo['hilda_temporal_links']``.
  The pre-trainer needs the scans at t-1 and t+1 of every keyframe.
- ``images[CAM]['width']``/``['height']``: the size of the camera's images
  (``sample_data`` width/height), the size its ``cam2img`` holds for;
  ``LoadCheckedMultiViewImages`` rejects an image of another size.
- ``cam_instances`` (2D boxes for monocular detection) is left out: HilDA
  never uses it and computing it needs the image sizes of every camera.
- Matrices are float64 lists; mmdet3d rounds them to float32, which at
  nuScenes' global coordinates (up to ~2 km) costs ~0.1 mm per pose and
  adds up when scans are chained through ``ego2global``.
- Numbers in ``instances`` are Python ``int``/``bool`` (mmdet3d leaves
  numpy scalars), so the files load without numpy-version surprises.
- ``lidar_sweeps`` is left out when a keyframe has no sweep (first frame
  of a scene, or ``max_sweeps=0``), as mmdet3d's clean-up step drops empty
  lists. A sweep's ``lidar_path`` is relative to the data root
  (``sweeps/LIDAR_TOP/...`` or ``samples/LIDAR_TOP/...``), not a bare name:
  mmdet3d's ``Det3DDataset.parse_data_info`` picks the ``pts`` or
  ``sweeps`` data prefix by looking for ``samples`` in that path, and the
  ``prev`` chain of a keyframe passes through earlier keyframes, which live
  under ``samples/``.
- The sample order is scene by scene, keyframes in time order (mmdet3d
  follows ``sample.json``), so neighbouring keyframes sit next to each
  other; ``sample_idx`` is the position in its split, as in mmdet3d.
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import mmengine
import numpy as np
from mmdet3d.datasets.convert_utils import NuScenesNameMapping, nus_categories
from mmengine.logging import print_log
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.geometry_utils import transform_matrix
from nuscenes.utils.splits import create_splits_scenes
from pyquaternion import Quaternion
from tqdm import tqdm

from ...errors import HilDAError
from ..info_format import nuscenes_metainfo

CAMERA_TYPES = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
                'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')

# The tables ``NuScenes.__init__`` opens unconditionally (its
# ``table_names``); checked up front so a missing one is named instead of
# ending in a bare ``FileNotFoundError`` from deep inside the devkit.
NUSCENES_TABLES = ('category', 'attribute', 'visibility', 'instance', 'sensor',
                   'calibrated_sensor', 'ego_pose', 'log', 'scene', 'sample',
                   'sample_data', 'sample_annotation', 'map')

# Output split name -> nuScenes scene split (``create_splits_scenes``), per
# version, as mmdet3d's ``create_nuscenes_infos`` assigns them.
NUSCENES_SPLITS = {
    'v1.0-trainval': (('train', 'train'), ('val', 'val')),
    'v1.0-mini': (('train', 'mini_train'), ('val', 'mini_val')),
    'v1.0-test': (('test', 'test'), ),
}

# nuScenes LiDAR files hold x, y, z, intensity, ring index.
NUM_PTS_FEATS = 5


class NuScenesInfoError(HilDAError):
    """A data-root or version problem the user can fix; one line."""


def _as_list(matrix: np.ndarray) -> List[List[float]]:
    """Nested Python float lists, the form mmdet3d's infos store."""
    return np.asarray(matrix, dtype=np.float64).tolist()


def check_nuscenes_root(root_path: str, version: str) -> str:
    """Check that ``root_path`` holds the tables of ``version``.

    Args:
        root_path (str): nuScenes data root (holds ``samples/``,
            ``sweeps/`` and one folder of JSON tables per version).
        version (str): One of :data:`NUSCENES_SPLITS`.

    Returns:
        str: The folder of the version's tables.

    Raises:
        NuScenesInfoError: Unknown version, missing root, table folder or
            table file.
    """
    if version not in NUSCENES_SPLITS:
        raise NuScenesInfoError(
            f"unknown nuScenes version '{version}'; expected one of "
            f'{", ".join(NUSCENES_SPLITS)}')
    if not osp.isdir(root_path):
        raise NuScenesInfoError(f'nuScenes root path not found: {root_path}')
    table_root = osp.join(root_path, version)
    if not osp.isdir(table_root):
        raise NuScenesInfoError(
            f'nuScenes {version} tables not found: {table_root} is missing '
            '(is --version right for this root?)')
    missing = [
        osp.join(table_root, f'{name}.json') for name in NUSCENES_TABLES
        if not osp.isfile(osp.join(table_root, f'{name}.json'))
    ]
    if missing:
        raise NuScenesInfoError(
            f'nuScenes table file(s) missing: {", ".join(missing)}')
    return table_root


def load_nuscenes(root_path: str, version: str) -> NuScenes:
    """Load the nuScenes tables of ``version`` after checking they exist.

    Args:
        root_path (str): nuScenes data root.
        version (str): One of :data:`NUSCENES_SPLITS`.

    Returns:
        NuScenes: The devkit's database object.
    """
    table_root = check_nuscenes_root(root_path, version)
    try:
        return NuScenes(version=version, dataroot=root_path, verbose=False)
    except (OSError, ValueError, KeyError, AssertionError) as e:
        # ValueError covers json.JSONDecodeError; the devkit's own messages
        # do not say which folder they were reading.
        raise NuScenesInfoError(
            f'could not load the nuScenes tables in {table_root}: '
            f'{type(e).__name__}: {e}') from e


def split_scene_tokens(nusc: NuScenes, version: str) -> Dict[str, List[str]]:
    """Scene tokens of each output split, in the order of the scene table.

    Scenes of the tables that belong to none of the version's splits are
    left out with a warning (mmdet3d would put them into ``val``).

    Args:
        nusc (NuScenes): The loaded database.
        version (str): One of :data:`NUSCENES_SPLITS`.

    Returns:
        dict[str, list[str]]: Output split name -> scene tokens.
    """
    scene_splits = create_splits_scenes(verbose=False)
    name_to_split = {
        scene_name: out_name
        for out_name, split in NUSCENES_SPLITS[version]
        for scene_name in scene_splits[split]
    }
    splits = {out_name: [] for out_name, _ in NUSCENES_SPLITS[version]}
    unassigned = []
    for scene in nusc.scene:
        out_name = name_to_split.get(scene['name'])
        if out_name is None:
            unassigned.append(scene['name'])
        else:
            splits[out_name].append(scene['token'])
    if not any(splits.values()):
        raise NuScenesInfoError(
            f'none of the {len(nusc.scene)} scenes in '
            f'{osp.join(nusc.dataroot, version)} belongs to a {version} '
            f'split ({", ".join(s for _, s in NUSCENES_SPLITS[version])})')
    if unassigned:
        more = ' ...' if len(unassigned) > 5 else ''
        print_log(
            f'{len(unassigned)} scene(s) in no {version} split, skipped: '
            f'{", ".join(unassigned[:5])}{more}',
            logger='current')
    return splits


def scene_sample_tokens(nusc: NuScenes, scene_token: str) -> List[str]:
    """Keyframe tokens of a scene in time order, following ``sample.next``.

    Args:
        nusc (NuScenes): The loaded database.
        scene_token (str): Scene token.

    Returns:
        list[str]: Sample tokens from the scene's first to last keyframe.
    """
    tokens = []
    token = nusc.get('scene', scene_token)['first_sample_token']
    while token:
        tokens.append(token)
        token = nusc.get('sample', token)['next']
    return tokens


def _sensor_poses(nusc: NuScenes,
                  sample_data: dict) -> Tuple[np.ndarray, np.ndarray]:
    """``sensor2ego`` and ``ego2global`` of one sample_data record.

    Each sensor reading has its own ego pose (cameras fire up to ~40 ms away
    from the LiDAR sweep), so every transform between two sensors goes
    through the global frame with each one's own pose.
    """
    calib = nusc.get('calibrated_sensor',
                     sample_data['calibrated_sensor_token'])
    pose = nusc.get('ego_pose', sample_data['ego_pose_token'])
    sensor2ego = transform_matrix(calib['translation'],
                                  Quaternion(calib['rotation']))
    ego2global = transform_matrix(pose['translation'],
                                  Quaternion(pose['rotation']))
    return sensor2ego, ego2global


def _camera_infos(nusc: NuScenes, sample: dict,
                  lidar2global: np.ndarray) -> Dict[str, dict]:
    """Per-camera entries of ``images``, as mmdet3d's ``obtain_sensor2top``
    then ``update_infos_to_v2`` compute them (lidar->ego->global->ego'->cam).
    """
    images = {}
    for cam in CAMERA_TYPES:
        if cam not in sample['data']:
            continue
        cam_data = nusc.get('sample_data', sample['data'][cam])
        cam2ego, cam_ego2global = _sensor_poses(nusc, cam_data)
        calib = nusc.get('calibrated_sensor',
                         cam_data['calibrated_sensor_token'])
        lidar2cam = np.linalg.inv(cam_ego2global @ cam2ego) @ lidar2global
        images[cam] = dict(
            img_path=osp.basename(cam_data['filename']),
            cam2img=_as_list(calib['camera_intrinsic']),
            cam2ego=_as_list(cam2ego),
            sample_data_token=cam_data['token'],
            timestamp=cam_data['timestamp'] / 1e6,
            lidar2cam=_as_list(lidar2cam),
            width=int(cam_data['width']),
            height=int(cam_data['height']))
    return images


def _lidar_sweeps(nusc: NuScenes, lidar_data: dict, lidar2global: np.ndarray,
                  max_sweeps: int) -> List[dict]:
    """Up to ``max_sweeps`` earlier LiDAR readings, newest first.

    ``lidar2sensor`` maps keyframe-LiDAR coordinates to sweep-LiDAR
    coordinates: the inverse of mmdet3d's ``sensor2lidar``, which is what
    ``update_infos_to_v2`` stores.
    """
    sweeps = []
    sweep_data = lidar_data
    while len(sweeps) < max_sweeps and sweep_data['prev']:
        sweep_data = nusc.get('sample_data', sweep_data['prev'])
        sweep2ego, sweep_ego2global = _sensor_poses(nusc, sweep_data)
        lidar2sensor = np.linalg.inv(
            sweep_ego2global @ sweep2ego) @ lidar2global
        sweeps.append(
            dict(
                lidar_points=dict(
                    lidar_path=sweep_data['filename'],
                    lidar2ego=_as_list(sweep2ego),
                    lidar2sensor=_as_list(lidar2sensor)),
                ego2global=_as_list(sweep_ego2global),
                timestamp=sweep_data['timestamp'] / 1e6,
                sample_data_token=sweep_data['token']))
    return sweeps


def _instances(nusc: NuScenes, sample: dict,
               lidar2global: np.ndarray) -> List[dict]:
    """3D boxes of a keyframe in its LiDAR frame, mmdet3d's convention.

    As in mmdet3d 1.4's ``nuscenes_converter._fill_trainval_infos``:
    ``bbox_3d`` is ``[x, y, z, l, w, h, yaw]`` with the devkit's box center
    (the gravity center; ``NuScenesDataset.parse_ann_info`` reads it with
    ``origin=(0.5, 0.5, 0.5)`` and moves it to the bottom itself), the size
    ``wlh[[1, 0, 2]]`` and ``yaw = orientation.yaw_pitch_roll[0]`` (the
    pre-1.0 converter's ``-rot - pi / 2`` went away with mmdet3d's 1.0
    coordinate refactor). Velocities are the devkit's global ``vx, vy``
    rotated into the LiDAR frame (NaN where the devkit cannot estimate one).
    Labels are indices into ``nus_categories`` after
    ``NuScenesNameMapping``; other categories get -1.
    """
    if not sample['anns']:
        return []
    # The devkit moves the boxes global -> ego -> LiDAR with the keyframe
    # LiDAR's own pose; reusing it keeps our convention identical to
    # mmdet3d's.
    _, boxes, _ = nusc.get_sample_data(sample['data']['LIDAR_TOP'])
    anns = [nusc.get('sample_annotation', token) for token in sample['anns']]
    centers = np.array([box.center for box in boxes]).reshape(-1, 3)
    sizes = np.array([box.wlh for box in boxes]).reshape(-1, 3)[:, [1, 0, 2]]
    yaws = np.array([box.orientation.yaw_pitch_roll[0] for box in boxes])
    bboxes = np.concatenate([centers, sizes, yaws[:, None]], axis=1)
    velocities = np.array([nusc.box_velocity(ann['token']) for ann in anns])
    velocities[:, 2] = 0  # mmdet3d keeps only the horizontal part
    # Row vectors: v_lidar^T = v_global^T @ R_lidar2global.
    velocities = (velocities @ lidar2global[:3, :3])[:, :2]
    instances = []
    for ann, box, bbox, velocity in zip(anns, boxes, bboxes, velocities):
        name = NuScenesNameMapping.get(box.name, box.name)
        label = nus_categories.index(name) if name in nus_categories else -1
        instances.append(
            dict(
                bbox_label=label,
                bbox_3d=bbox.tolist(),
                bbox_3d_isvalid=bool(ann['num_lidar_pts'] +
                                     ann['num_radar_pts'] > 0),
                bbox_label_3d=label,
                num_lidar_pts=int(ann['num_lidar_pts']),
                num_radar_pts=int(ann['num_radar_pts']),
                velocity=velocity.tolist()))
    return instances


def get_sample_info(nusc: NuScenes,
                    sample_token: str,
                    max_sweeps: int = 10,
                    lidarseg_files: Optional[Dict[str, str]] = None,
                    check_files: bool = True) -> dict:
    """The info dict of one keyframe (without ``sample_idx``).

    Args:
        nusc (NuScenes): The loaded database.
        sample_token (str): Token of the keyframe.
        max_sweeps (int): Most earlier LiDAR readings to list. Defaults to
            10, mmdet3d's value.
        lidarseg_files (dict[str, str], optional): LiDAR sample_data token
            -> lidarseg label file name, see :func:`lidarseg_file_names`.
        check_files (bool): Raise if the keyframe's LiDAR file is missing,
            as mmdet3d's converter does. Defaults to True.

    Returns:
        dict: See the module docstring.
    """
    sample = nusc.get('sample', sample_token)
    lidar_data = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
    if check_files:
        lidar_file = nusc.get_sample_data_path(lidar_data['token'])
        if not osp.isfile(lidar_file):
            raise NuScenesInfoError(f'LiDAR file not found: {lidar_file}')
    lidar2ego, ego2global = _sensor_poses(nusc, lidar_data)
    lidar2global = ego2global @ lidar2ego
    info = dict(
        token=sample['token'],
        timestamp=sample['timestamp'] / 1e6,
        ego2global=_as_list(ego2global),
        images=_camera_infos(nusc, sample, lidar2global),
        lidar_points=dict(
            num_pts_feats=NUM_PTS_FEATS,
            lidar_path=osp.basename(lidar_data['filename']),
            lidar2ego=_as_list(lidar2ego)))
    sweeps = _lidar_sweeps(nusc, lidar_data, lidar2global, max_sweeps)
    if sweeps:
        info['lidar_sweeps'] = sweeps
    info['instances'] = _instances(nusc, sample, lidar2global)
    if lidarseg_files and lidar_data['token'] in lidarseg_files:
        info['pts_semantic_mask_path'] = lidarseg_files[lidar_data['token']]
    info.update(
        scene_token=sample['scene_token'],
        prev=sample['prev'],
        next=sample['next'])
    return info


def lidarseg_file_names(nusc: NuScenes) -> Dict[str, str]:
    """LiDAR sample_data token -> bare lidarseg label file name.

    Empty when the version has no ``lidarseg.json`` (the devkit only loads
    the table when the file exists).
    """
    return {
        record['sample_data_token']: osp.basename(record['filename'])
        for record in getattr(nusc, 'lidarseg', [])
    }


def create_nuscenes_infos(root_path: str,
                          version: str = 'v1.0-trainval',
                          out_dir: Optional[str] = None,
                          extra_tag: str = 'nuscenes',
                          max_sweeps: int = 10,
                          check_files: bool = True,
                          progress: bool = True,
                          file_format: str = 'pkl') -> Dict[str, str]:
    """Write ``{extra_tag}_infos_{split}.pkl`` for every split of a version.

    ``v1.0-trainval`` and ``v1.0-mini`` give ``train`` and ``val`` (mini:
    the ``mini_train``/``mini_val`` scenes), ``v1.0-test`` gives ``test``.

    Args:
        root_path (str): nuScenes data root.
        version (str): ``v1.0-trainval``, ``v1.0-mini`` or ``v1.0-test``.
        out_dir (str, optional): Where to write; defaults to ``root_path``.
        extra_tag (str): File name prefix. Defaults to 'nuscenes'.
        max_sweeps (int): Most earlier LiDAR readings per keyframe.
            Defaults to 10.
        check_files (bool): Raise if a keyframe's LiDAR file is missing.
            Defaults to True.
        progress (bool): Show a progress bar over the samples.
        file_format (str): ``'pkl'`` (mmdet3d's format) or ``'json'`` (the
            same content in a format that cannot carry code; the datasets
            read both). Defaults to 'pkl'.

    Returns:
        dict[str, str]: Split name -> path of the written file.
    """
    if max_sweeps < 0:
        raise NuScenesInfoError(f'max_sweeps must be >= 0, got {max_sweeps}')
    if file_format not in ('pkl', 'json'):
        raise NuScenesInfoError(
            f"file_format must be 'pkl' or 'json', got {file_format!r}")
    nusc = load_nuscenes(root_path, version)
    splits = split_scene_tokens(nusc, version)
    lidarseg_files = lidarseg_file_names(nusc)
    out_dir = root_path if out_dir is None else out_dir
    mmengine.mkdir_or_exist(out_dir)

    sample_tokens = {
        split: [
            token for scene in scenes
            for token in scene_sample_tokens(nusc, scene)
        ]
        for split, scenes in splits.items()
    }
    total = sum(len(tokens) for tokens in sample_tokens.values())
    data_lists = {}
    with tqdm(
            total=total, desc=f'nuScenes {version} infos',
            disable=not progress) as pbar:
        for split, tokens in sample_tokens.items():
            data_lists[split] = []
            for idx, token in enumerate(tokens):
                info = dict(sample_idx=idx)
                info.update(
                    get_sample_info(nusc, token, max_sweeps, lidarseg_files,
                                    check_files))
                data_lists[split].append(info)
                pbar.update()

    # Written after the bar closes so the log lines do not break it.
    paths = {}
    for split, data_list in data_lists.items():
        paths[split] = osp.join(out_dir,
                                f'{extra_tag}_infos_{split}.{file_format}')
        mmengine.dump(
            dict(metainfo=nuscenes_metainfo(version), data_list=data_list),
            paths[split])
        print_log(
            f'{split}: {len(splits[split])} scenes, {len(data_list)} '
            f'samples -> {paths[split]}',
            logger='current')
    return paths
