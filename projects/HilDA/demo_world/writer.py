# Copyright (c) HilDA authors. All rights reserved.
"""Write demo scenes as nuScenes files and mmdet3d (v1.1) info files."""
import functools
import hashlib
import multiprocessing
import os
import os.path as osp
import pickle
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import mmengine
import numpy as np

from projects.HilDA.hilda.datasets.info_format import nuscenes_metainfo
from .annotations import (MOVING_SPEED, camera_instances, lidar_instances,
                          strip_private)
from .appearance import ShadowMap
from .cameras import camera_rig, lidar2cam, render
from .ground_truth import GT_DIR, frame_ground_truth, write_npz
from .lidar import LIDAR2EGO, lidar2map, scan
from .statistics import DemoStatistics
from .world import TIME_STEP, Scene, generate_scene, scene_summary

LIDAR = 'LIDAR_TOP'
VERSION = 'v1.0-demo'
LIDARSEG_DIR = osp.join('lidarseg', VERSION)
JPEG_QUALITY = 90
# Scenes start 20 minutes apart from a fixed epoch, like separate logs.
BASE_TIMESTAMP_US = 1_700_000_000_000_000
SCENE_GAP_US = 1_200_000_000


def make_token(*parts) -> str:
    """A nuScenes-style 32-hex token, deterministic in ``parts``."""
    key = '/'.join(str(p) for p in ('hilda-demo', *parts))
    return hashlib.md5(key.encode()).hexdigest()


def _write_jpeg(path: str, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode('.jpg', np.ascontiguousarray(rgb[..., ::-1]),
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError(f'JPEG encoding failed for {path}')
    with open(path, 'wb') as f:
        f.write(data.tobytes())


def write_frame(out_dir: str,
                scene: Scene,
                frame: int,
                log: str,
                tokens: Dict,
                seed: int,
                rig: List[Dict],
                num_azimuth: int,
                stats: Optional[DemoStatistics] = None) -> Dict:
    """Simulate and write one keyframe; return its info dict.

    Args:
        out_dir (str): Data root.
        scene (Scene): The scene.
        frame (int): Keyframe index.
        log (str): Log name, the prefix of the file names.
        tokens (dict): ``scene`` token and ``samples`` (list, per frame).
        seed (int): Seed of the data set (sensor noise streams).
        rig (list[dict]): Output of :func:`camera_rig`.
        num_azimuth (int): LiDAR azimuth steps.
        stats (DemoStatistics, optional): Accumulates the frame's
            statistics.

    Returns:
        tuple: The sample's info (``sample_idx`` is set by the caller) and
        the scan (:func:`lidar.scan` plus its ``pose``, lidar2map).
    """
    scene_token, samples = tokens['scene'], tokens['samples']
    timestamp_us = tokens['start_us'] + int(frame * TIME_STEP * 1e6)
    timestamp = timestamp_us / 1e6
    # Independent noise streams per sensor: changing the image size does
    # not change the LiDAR data, and vice versa.
    streams = np.random.SeedSequence([seed, tokens['index'],
                                      frame]).spawn(1 + len(rig))

    sweep = scan(
        scene,
        frame,
        np.random.default_rng(streams[0]),
        num_azimuth=num_azimuth)
    lidar_token = make_token(scene_token, frame, LIDAR)
    lidar_file = f'{log}__{LIDAR}__{timestamp_us}.pcd.bin'
    sweep['points'].tofile(osp.join(out_dir, 'samples', LIDAR, lidar_file))
    mask_file = f'{lidar_token}_lidarseg.bin'
    sweep['labels'].tofile(osp.join(out_dir, LIDARSEG_DIR, mask_file))

    pose = lidar2map(scene, frame)
    gt_file = osp.join(GT_DIR, f'{lidar_token}.npz')
    gt = frame_ground_truth(scene, frame, pose, sweep, rig,
                            scene.ego2map(frame))
    write_npz(osp.join(out_dir, gt_file), gt)

    instances = lidar_instances(scene, frame, pose, sweep['object_ids'])
    if stats is not None:
        stats.add_frame(sweep['labels'], instances, gt)
    images, cam_instances = {}, {}
    shadows = ShadowMap(scene, frame)
    for cam, stream in zip(rig, streams[1:]):
        name = cam['name']
        image = render(scene, frame, cam['cam2ego'],
                       cam['cam2img'], cam['img_shape'],
                       np.random.default_rng(stream), shadows)
        img_file = f'{log}__{name}__{timestamp_us}.jpg'
        _write_jpeg(osp.join(out_dir, 'samples', name, img_file), image)
        cam_lidar2cam = lidar2cam(cam['cam2ego'], LIDAR2EGO)
        images[name] = dict(
            img_path=img_file,
            width=int(cam['img_shape'][1]),
            height=int(cam['img_shape'][0]),
            cam2img=cam['cam2img'].tolist(),
            cam2ego=cam['cam2ego'].tolist(),
            sample_data_token=make_token(scene_token, frame, name),
            timestamp=timestamp,
            lidar2cam=cam_lidar2cam.tolist())
        cam_instances[name] = camera_instances(instances, cam_lidar2cam,
                                               cam['cam2img'],
                                               cam['img_shape'])

    last = len(samples) - 1
    sweep['pose'] = pose
    return dict(
        sample_idx=-1,
        token=samples[frame],
        timestamp=timestamp,
        ego2global=(scene.map2global @ scene.ego2map(frame)).tolist(),
        images=images,
        lidar_points=dict(
            num_pts_feats=5,
            lidar_path=lidar_file,
            lidar2ego=LIDAR2EGO.tolist()),
        instances=strip_private(instances),
        cam_instances=cam_instances,
        pts_semantic_mask_path=mask_file,
        demo_gt_path=gt_file,
        scene_token=scene_token,
        prev=samples[frame - 1] if frame > 0 else '',
        next=samples[frame + 1] if frame < last else ''), sweep


def write_scene(out_dir: str, index: int, num_frames: int, seed: int,
                rig: List[Dict], num_azimuth: int,
                with_stats: bool) -> Tuple[List[Dict], DemoStatistics]:
    """Generate and write scene ``index``; return its infos and statistics.

    Depends only on ``(seed, index, num_frames)`` and the sensors, so
    scenes can be written in any order and by any process.
    """
    scene = generate_scene(np.random.default_rng([seed, index]), num_frames)
    scene_token = make_token(seed, index, 'scene')
    tokens = dict(
        index=index,
        scene=scene_token,
        samples=[
            make_token(scene_token, f, 'sample') for f in range(num_frames)
        ],
        start_us=BASE_TIMESTAMP_US + index * SCENE_GAP_US)
    log = f'n900-demo-seed{seed}-scene{index:04d}'
    stats = DemoStatistics() if with_stats else None
    if stats is not None:
        stats.add_scene(scene_summary(scene))
    infos, prev = [], None
    for frame in range(num_frames):
        info, sweep = write_frame(out_dir, scene, frame, log, tokens, seed,
                                  rig, num_azimuth, stats)
        infos.append(info)
        if stats is not None and prev is not None:
            speed = np.linalg.norm(scene.object_velocity(frame - 1), axis=1)
            obj = sweep['object_ids']
            moving = (obj >= 0) & (speed[np.maximum(obj, 0)] > MOVING_SPEED)
            stats.add_pair(prev, prev['pose'], prev['labels'], sweep,
                           sweep['pose'], sweep['labels'], moving)
        prev = sweep
    return infos, stats


def create_demo_dataset(out_dir: str,
                        num_scenes: int = 8,
                        num_frames: int = 10,
                        seed: int = 0,
                        img_size: Sequence[int] = (400, 224),
                        val_scenes: int = 2,
                        num_azimuth: int = 1084,
                        progress: bool = True,
                        stats: Optional[DemoStatistics] = None,
                        workers: int = 1) -> Dict[str, str]:
    """Generate the demo data set in nuScenes layout.

    Scene ``i`` depends only on ``(seed, i, num_frames)``, so the same seed
    gives byte-identical files whatever the split and the number of
    workers.

    Args:
        out_dir (str): Data root to write into (created if missing).
        num_scenes (int): Number of scenes.
        num_frames (int): Keyframes per scene, 0.5 s apart.
        seed (int): Random seed.
        img_size (tuple[int, int]): Image width and height.
        val_scenes (int): The last ``val_scenes`` scenes form the val split.
        num_azimuth (int): LiDAR azimuth steps per revolution.
        progress (bool): Show a progress bar (per scene).
        stats (DemoStatistics, optional): Accumulates the data set's
            statistics (points, classes, motion, occupancy).
        workers (int): Processes writing scenes in parallel.

    Returns:
        dict[str, str]: Paths of the ``train`` and ``val`` info files.
    """
    if num_scenes < 1 or num_frames < 1:
        raise ValueError('need at least one scene and one frame, got '
                         f'{num_scenes} scenes x {num_frames} frames')
    if not 0 <= val_scenes <= num_scenes:
        raise ValueError(f'val_scenes must be in [0, {num_scenes}], got '
                         f'{val_scenes}')
    if workers < 1:
        raise ValueError(f'workers must be >= 1, got {workers}')
    rig = camera_rig(img_size)
    for folder in [
            osp.join('samples', LIDAR), LIDARSEG_DIR, GT_DIR,
            *(osp.join('samples', cam['name']) for cam in rig)
    ]:
        os.makedirs(osp.join(out_dir, folder), exist_ok=True)

    job = functools.partial(
        write_scene,
        out_dir,
        num_frames=num_frames,
        seed=seed,
        rig=rig,
        num_azimuth=num_azimuth,
        with_stats=stats is not None)
    bar = mmengine.ProgressBar(num_scenes) if progress else None
    results = []
    if workers == 1:
        for index in range(num_scenes):
            # Through pickle as a worker's result would be: the info file
            # pickles shared objects by reference, so the bytes depend on
            # which objects are shared, and must not depend on workers.
            results.append(pickle.loads(pickle.dumps(job(index))))
            if bar is not None:
                bar.update()
    else:
        with multiprocessing.get_context('fork').Pool(workers) as pool:
            # imap keeps scene order, so files and infos do not depend on
            # which process finished first.
            for result in pool.imap(job, range(num_scenes)):
                results.append(result)
                if bar is not None:
                    bar.update()
    if bar is not None:
        print()  # ProgressBar leaves the cursor on its line

    splits = dict(train=[], val=[])
    for index, (infos, scene_stats) in enumerate(results):
        split = 'val' if index >= num_scenes - val_scenes else 'train'
        splits[split].extend(infos)
        if stats is not None:
            stats.merge(scene_stats)

    paths = {}
    for split, data_list in splits.items():
        for idx, info in enumerate(data_list):
            info['sample_idx'] = idx
        paths[split] = osp.join(out_dir, f'nuscenes_infos_{split}.pkl')
        mmengine.dump(
            dict(metainfo=nuscenes_metainfo(VERSION), data_list=data_list),
            paths[split])
    return paths
