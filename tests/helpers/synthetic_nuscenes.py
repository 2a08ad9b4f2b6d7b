# Copyright (c) HilDA authors. All rights reserved.
"""A few-frame nuScenes-format sequence with known geometry, for tests.

A static world (a ground grid and a wall) is observed from an ego vehicle
that drives and turns, so every frame's points, written in its own LiDAR
frame, are the same world points; six 64x48 cameras look around the car.
"""
import os.path as osp

import cv2
import mmengine
import numpy as np

CAMS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
        'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')
CAM_YAWS = (0, -60, 60, 180, 120, -120)
IMG_W, IMG_H = 64, 48
CAM2IMG = [[40.0, 0.0, 32.0], [0.0, 40.0, 24.0], [0.0, 0.0, 1.0]]
LIDAR2EGO = np.array(
    [[0, -1, 0, 0.9], [1, 0, 0, 0], [0, 0, 1, 1.8], [0, 0, 0, 1]],
    dtype=np.float64)


def pose(yaw_deg, x, y, z=0.0):
    yaw = np.deg2rad(yaw_deg)
    m = np.eye(4)
    m[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
    m[:3, 3] = [x, y, z]
    return m


def lidar2cam(yaw_deg):
    """LiDAR (x fwd, y left, z up in ego terms) to an OpenCV camera."""
    ego2cam_axes = np.array(
        [[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
        dtype=np.float64)
    cam2ego = pose(yaw_deg, 0, 0, 1.5)
    return ego2cam_axes @ np.linalg.inv(cam2ego) @ LIDAR2EGO


def world_points(rng, num=3000):
    ground = np.c_[rng.uniform(-30, 30, (num, 2)), np.zeros(num)]
    wall = np.c_[rng.uniform(-10, 10, num // 3),
                 np.full(num // 3, 8.0),
                 rng.uniform(0, 4, num // 3)]
    return np.concatenate([ground, wall])


def write_sequence(root, num_frames=3, seed=0, info_version='1.1'):
    """Write the sequence; returns (info path, world points, ego poses)."""
    rng = np.random.default_rng(seed)
    world = world_points(rng)
    poses = [pose(10.0 * k, 2.0 * k, 0.5 * k) for k in range(num_frames)]
    tokens = [f'tok{k}' for k in range(num_frames)]
    data_list = []
    for k, ego2global in enumerate(poses):
        lidar2global = ego2global @ LIDAR2EGO
        xyz = (np.c_[world, np.ones(len(world))]
               @ np.linalg.inv(lidar2global).T)[:, :3]
        points = np.c_[xyz,
                       rng.uniform(0, 1, (len(xyz), 1)),
                       np.zeros((len(xyz), 1))].astype(np.float32)
        lidar_file = f'lidar_{k}.bin'
        points.tofile(osp.join(root, lidar_file))
        images = {}
        for cam, yaw in zip(CAMS, CAM_YAWS):
            img_file = f'{cam}_{k}.png'
            img = rng.integers(0, 255, (IMG_H, IMG_W, 3), dtype=np.uint8)
            cv2.imwrite(osp.join(root, img_file), img)
            images[cam] = dict(
                img_path=img_file,
                cam2img=CAM2IMG,
                lidar2cam=lidar2cam(yaw).tolist(),
                cam2ego=pose(yaw, 0, 0, 1.5).tolist(),
                sample_data_token=f'{cam}{k}',
                timestamp=k * 0.5)
        data_list.append(
            dict(
                sample_idx=k,
                token=tokens[k],
                timestamp=k * 0.5,
                ego2global=ego2global.tolist(),
                lidar_points=dict(
                    num_pts_feats=5,
                    lidar_path=lidar_file,
                    lidar2ego=LIDAR2EGO.tolist()),
                images=images,
                instances=[],
                scene_token='scene0',
                prev=tokens[k - 1] if k > 0 else '',
                next=tokens[k + 1] if k + 1 < num_frames else ''))
    info_path = osp.join(root, 'infos.pkl')
    mmengine.dump(
        dict(
            metainfo=dict(
                dataset='nuscenes',
                version='v1.0-test-synthetic',
                info_version=info_version),
            data_list=data_list), info_path)
    return info_path, world, poses


# The loaders every synthetic pipeline starts with (5 values per point).
LOAD_POINTS = dict(
    type='LoadCheckedPointsFromFile',
    coord_type='LIDAR',
    load_dim=5,
    use_dim=4)
# ... keeping the fifth (ring index / time) too.
LOAD_POINTS_5D = dict(LOAD_POINTS, use_dim=5)
LOAD_IMAGES = dict(type='LoadCheckedMultiViewImages', num_views=6)


def hilda_dataset_cfg(root, ann_file, pipeline, **kwargs):
    """HilDANuScenesDataset over files that lie side by side in ``root``."""
    return dict(
        type='HilDANuScenesDataset',
        data_root=str(root),
        ann_file=ann_file,
        data_prefix=dict(pts='', img=''),
        pipeline=pipeline,
        **kwargs)


def hilda_dataset(root, ann_file, pipeline, **kwargs):
    """The data set of :func:`hilda_dataset_cfg`, built."""
    from mmdet3d.registry import DATASETS
    return DATASETS.build(
        hilda_dataset_cfg(root, ann_file, pipeline, **kwargs))


def skip_bad_samples_dataset(root, ann_file, pipeline, max_skip_ratio):
    """:func:`hilda_dataset` in SkipBadSamplesDataset, which replaces a
    sample that fails to load by another one."""
    from mmdet3d.registry import DATASETS
    return DATASETS.build(
        dict(
            type='SkipBadSamplesDataset',
            dataset=hilda_dataset_cfg(root, ann_file, pipeline),
            max_skip_ratio=max_skip_ratio))


def build_dataset(root, pipeline, temporal=True, num_frames=3, **kwargs):
    """Write the sequence under ``root`` and build HilDANuScenesDataset."""
    info, _, _ = write_sequence(str(root), num_frames=num_frames)
    return hilda_dataset(root, info, pipeline, temporal=temporal, **kwargs)
