# Copyright (c) HilDA authors. All rights reserved.
"""Write demo scenes as nuScenes files and mmdet3d (v1.1) info files."""
import hashlib
import os
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import mmengine
import numpy as np

from projects.HilDA.hilda.datasets.info_format import nuscenes_metainfo
from .annotations import camera_instances, lidar_instances, strip_private
from .cameras import camera_rig, lidar2cam, render
from .ground_truth import GT_DIR, frame_ground_truth, write_npz
from .lidar import LIDAR2EGO, lidar2map, scan
from .world import TIME_STEP, Scene, generate_scene

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


def write_frame(out_dir: str, scene: Scene, frame: int, log: str, tokens: Dict,
                seed: int, rig: List[Dict], num_azimuth: int) -> Dict:
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

    Returns:
        dict: The sample's info (``sample_idx`` is set by the caller).
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
    write_npz(
        osp.join(out_dir, gt_file),
        frame_ground_truth(scene, frame, pose, sweep, rig,
                           scene.ego2map(frame)))

    instances = lidar_instances(scene, frame, pose, sweep['object_ids'])
    images, cam_instances = {}, {}
    for cam, stream in zip(rig, streams[1:]):
        name = cam['name']
        image = render(scene, frame, cam['cam2ego'], cam['cam2img'],
                       cam['img_shape'], np.random.default_rng(stream))
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
        next=samples[frame + 1] if frame < last else '')


def create_demo_dataset(out_dir: str,
                        num_scenes: int = 8,
                        num_frames: int = 10,
                        seed: int = 0,
                        img_size: Sequence[int] = (400, 224),
                        val_scenes: int = 2,
                        num_azimuth: int = 1084,
                        progress: bool = True) -> Dict[str, str]:
    """Generate the demo data set in nuScenes layout.

    Scene ``i`` depends only on ``(seed, i, num_frames)``, so the same seed
    gives byte-identical files whatever the split.

    Args:
        out_dir (str): Data root to write into (created if missing).
        num_scenes (int): Number of scenes.
        num_frames (int): Keyframes per scene, 0.5 s apart.
        seed (int): Random seed.
        img_size (tuple[int, int]): Image width and height.
        val_scenes (int): The last ``val_scenes`` scenes form the val split.
        num_azimuth (int): LiDAR azimuth steps per revolution.
        progress (bool): Show a progress bar.

    Returns:
        dict[str, str]: Paths of the ``train`` and ``val`` info files.
    """
    if num_scenes < 1 or num_frames < 1:
        raise ValueError('need at least one scene and one frame, got '
                         f'{num_scenes} scenes x {num_frames} frames')
    if not 0 <= val_scenes <= num_scenes:
        raise ValueError(f'val_scenes must be in [0, {num_scenes}], got '
                         f'{val_scenes}')
    rig = camera_rig(img_size)
    for folder in [
            osp.join('samples', LIDAR), LIDARSEG_DIR, GT_DIR,
            *(osp.join('samples', cam['name']) for cam in rig)
    ]:
        os.makedirs(osp.join(out_dir, folder), exist_ok=True)

    bar = (mmengine.ProgressBar(num_scenes * num_frames) if progress else None)
    splits = dict(train=[], val=[])
    for index in range(num_scenes):
        scene = generate_scene(
            np.random.default_rng([seed, index]), num_frames)
        scene_token = make_token(seed, index, 'scene')
        tokens = dict(
            index=index,
            scene=scene_token,
            samples=[
                make_token(scene_token, f, 'sample') for f in range(num_frames)
            ],
            start_us=BASE_TIMESTAMP_US + index * SCENE_GAP_US)
        log = f'n900-demo-seed{seed}-scene{index:04d}'
        split = 'val' if index >= num_scenes - val_scenes else 'train'
        for frame in range(num_frames):
            splits[split].append(
                write_frame(out_dir, scene, frame, log, tokens, seed, rig,
                            num_azimuth))
            if bar is not None:
                bar.update()
    if bar is not None:
        print()  # ProgressBar leaves the cursor on its line

    paths = {}
    for split, data_list in splits.items():
        for idx, info in enumerate(data_list):
            info['sample_idx'] = idx
        paths[split] = osp.join(out_dir, f'nuscenes_infos_{split}.pkl')
        mmengine.dump(
            dict(metainfo=nuscenes_metainfo(VERSION), data_list=data_list),
            paths[split])
    return paths
