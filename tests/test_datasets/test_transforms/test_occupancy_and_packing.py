# Copyright (c) HilDA authors. All rights reserved.
import numpy as np
import torch
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import LiDARPoints

from projects.HilDA.hilda.datasets.transforms import bev_occupancy
from tests.helpers.synthetic_nuscenes import (IMG_H, IMG_W, LOAD_IMAGES,
                                              LOAD_POINTS, build_dataset)


def test_bev_occupancy_marks_exactly_the_occupied_cells():
    points = np.array([[0.1, 0.1, 0.5], [-3.9, 3.9, -0.9], [9.0, 0, 0]])
    occ = bev_occupancy(points, (-4, -4, -1, 4, 4, 1), 1.0, 4)
    assert occ.shape == (4, 8, 8) and occ.dtype == np.float32
    assert set(np.unique(occ)) == {-1.0, 1.0}
    occupied = np.argwhere(occ == 1)
    # (bin, row=y, col=x); the third point is outside the range.
    assert sorted(map(tuple, occupied)) == [(0, 7, 0), (3, 4, 4)]


def test_occupancy_target_reads_the_configured_scan():
    results = dict(
        points=LiDARPoints(np.array([[0.5, 0.5, 0.0]], np.float32)),
        points_next=LiDARPoints(np.array([[-0.5, -0.5, 0.0]], np.float32)))
    cfg = dict(
        type='BEVOccupancyTarget',
        point_cloud_range=(-1, -1, -1, 1, 1, 1),
        cell_size=1.0,
        num_height_bins=1)
    temporal = TRANSFORMS.build(cfg)(dict(results))['occ_target']
    masked = TRANSFORMS.build(dict(cfg, source_key='points'))(
        dict(results))['occ_target']
    assert temporal[0, 0, 0] == 1 and temporal[0, 1, 1] == -1
    assert masked[0, 1, 1] == 1 and masked[0, 0, 0] == -1


def test_superpixels_follow_image_edges():
    img = np.zeros((48, 64, 3), np.uint8)
    img[:, 32:] = (250, 10, 10)
    sp = TRANSFORMS.build(
        dict(type='ImageSuperpixels', num_segments=8,
             backend='skimage'))(dict(img=[img, img]))['superpixels']
    assert sp.shape == (2, 48, 64) and sp.dtype == np.int32
    left = set(np.unique(sp[0, :, :30]))
    right = set(np.unique(sp[0, :, 34:]))
    assert left and right and not left & right


def test_full_pipeline_packs_every_pretraining_field(tmp_path):
    dataset = build_dataset(tmp_path, [
        LOAD_POINTS,
        dict(type='LoadTemporalPoints'),
        LOAD_IMAGES,
        dict(type='MultiViewImageAug', final_size=(IMG_H, IMG_W)),
        dict(type='ImageSuperpixels', num_segments=8),
        dict(
            type='ProjectPointsToImages',
            occlusion='depth_cells',
            occlusion_stride=8),
        dict(type='ConsistentPointAug'),
        dict(
            type='BEVOccupancyTarget',
            point_cloud_range=(-32, -32, -3, 32, 32, 5),
            cell_size=1.0,
            num_height_bins=4),
        dict(type='PackHilDAInputs'),
    ])
    packed = dataset[1]
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs['img'].shape == (6, 3, IMG_H, IMG_W)
    assert inputs['points'].shape[1] == 4
    assert inputs['points_prev'].shape[1] == 4
    pairs = sample.correspondences
    assert len(pairs) > 0 and pairs.uv.shape == (len(pairs), 2)
    assert int(pairs.point_idx.max()) < len(inputs['points'])
    assert sample.occ_target.shape == (4, 64, 64)
    assert (sample.occ_target == 1).any()
    assert sample.superpixels.shape == (6, IMG_H, IMG_W)
    assert isinstance(sample.occ_target, torch.Tensor)
    assert sample.metainfo['lidar_aug_matrix'].shape == (4, 4)
    assert sample.metainfo['token'] == 'tok1'
