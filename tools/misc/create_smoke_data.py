# Copyright (c) HilDA authors. All rights reserved.
"""Write a tiny SemanticKITTI-format data set for smoke tests.

Each scan is a ground disc (road, sidewalk, terrain by lateral distance)
with parked cars and buildings as sampled box surfaces, in the files and
info format mmdet3d's SemanticKITTI converter writes
(``sequences/SS/velodyne/*.bin``, ``sequences/SS/labels/*.label``,
``semantickitti_infos_{train,val}.pkl``), so mmdet3d's own
``SemanticKittiDataset`` reads it. It exists to check the install, the
launchers and the tools in seconds; HilDA's demo world is richer.

Example:
    python tools/misc/create_smoke_data.py --out-dir data/smoke_semantickitti
"""
import argparse
import os
import os.path as osp

import mmengine
import numpy as np

# SemanticKITTI raw label ids (see mmdet3d's semantickitti dataset config).
ROAD, SIDEWALK, TERRAIN, CAR, BUILDING = 40, 48, 72, 10, 50
INTENSITY = {ROAD: 0.1, SIDEWALK: 0.3, TERRAIN: 0.5, CAR: 0.8, BUILDING: 0.6}
SPLITS = {'train': '00', 'val': '08'}


def sample_box_surface(rng, center, size, num):
    """Points on the four sides and the top of an axis-aligned box."""
    faces = rng.integers(0, 5, num)
    pts = rng.uniform(-0.5, 0.5, (num, 3))
    axis = np.where(faces < 2, 0, np.where(faces < 4, 1, 2))
    sign = np.where(faces % 2 == 0, -0.5, 0.5)
    sign[faces == 4] = 0.5
    pts[np.arange(num), axis] = sign
    return pts * size + center


def make_scan(rng, num_points):
    """One scan: (N, 4) float32 x, y, z, intensity and (N,) uint32 labels."""
    n_ground = num_points // 2
    radius = 25 * np.sqrt(rng.uniform(0, 1, n_ground))
    angle = rng.uniform(0, 2 * np.pi, n_ground)
    ground = np.stack([
        radius * np.cos(angle), radius * np.sin(angle),
        rng.normal(-1.8, 0.02, n_ground)
    ], 1)
    lateral = np.abs(ground[:, 1])
    ground_label = np.where(lateral < 4, ROAD,
                            np.where(lateral < 7, SIDEWALK, TERRAIN))

    n_cars, n_buildings = 4, 2
    n_obj = (num_points - n_ground) // (n_cars + n_buildings)
    objects, object_labels = [], []
    for _ in range(n_cars):
        center = [rng.uniform(-20, 20), rng.choice([-2.0, 2.0]), -1.0]
        objects.append(
            sample_box_surface(rng, center, np.array([4.5, 1.9, 1.6]), n_obj))
        object_labels.append(np.full(n_obj, CAR))
    for _ in range(n_buildings):
        center = [rng.uniform(-15, 15), rng.choice([-12.0, 12.0]), 2.0]
        objects.append(
            sample_box_surface(rng, center, np.array([10.0, 6.0, 8.0]),
                               n_obj))
        object_labels.append(np.full(n_obj, BUILDING))

    xyz = np.concatenate([ground, *objects])
    labels = np.concatenate([ground_label, *object_labels]).astype(np.uint32)
    intensity = np.vectorize(INTENSITY.get)(labels) + rng.normal(
        0, 0.05, len(labels))
    points = np.concatenate([xyz, intensity[:, None]], 1).astype(np.float32)
    return points, labels


def create_smoke_data(out_dir, num_train=8, num_val=2, num_points=4000,
                      seed=0):
    """Write the smoke set; returns the paths of the two info files."""
    rng = np.random.default_rng(seed)
    info_paths = []
    for split, num in (('train', num_train), ('val', num_val)):
        seq = SPLITS[split]
        data_list = []
        for idx in range(num):
            points, labels = make_scan(rng, num_points)
            lidar_path = osp.join('sequences', seq, 'velodyne',
                                  f'{idx:06d}.bin')
            label_path = osp.join('sequences', seq, 'labels',
                                  f'{idx:06d}.label')
            for rel in (lidar_path, label_path):
                os.makedirs(osp.dirname(osp.join(out_dir, rel)),
                            exist_ok=True)
            points.tofile(osp.join(out_dir, lidar_path))
            labels.tofile(osp.join(out_dir, label_path))
            data_list.append(
                dict(
                    lidar_points=dict(lidar_path=lidar_path, num_pts_feats=4),
                    pts_semantic_mask_path=label_path,
                    sample_idx=f'{seq}{idx:06d}'))
        info_path = osp.join(out_dir, f'semantickitti_infos_{split}.pkl')
        mmengine.dump(
            dict(metainfo=dict(DATASET='SemanticKITTI'), data_list=data_list),
            info_path)
        info_paths.append(info_path)
    return info_paths


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out-dir', default='data/smoke_semantickitti')
    parser.add_argument('--num-train', type=int, default=8)
    parser.add_argument('--num-val', type=int, default=2)
    parser.add_argument('--num-points', type=int, default=4000)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


if __name__ == '__main__':
    args = parse_args()
    for path in create_smoke_data(args.out_dir, args.num_train, args.num_val,
                                  args.num_points, args.seed):
        print(f'wrote {path}')
