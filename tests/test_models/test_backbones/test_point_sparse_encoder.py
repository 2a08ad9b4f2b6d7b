# Copyright (c) HilDA authors. All rights reserved.
import copy

import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.hub import get_config

from projects.HilDA.hilda.models.data_preprocessors import (
    points_voxel_coors, sparse_shape_from_range, voxelize_for_sparse_encoder)
from tests.helpers.random_weights import randomize

CENTERPOINT = ('mmdet3d::centerpoint/'
               'centerpoint_voxel01_second_secfpn_8xb4-cyclic-20e_nus-3d.py')
# A small grid (weights do not depend on it): 64 x 64 x 40 voxels.
RANGE = [-6.4, -6.4, -5.0, 6.4, 6.4, 3.0]
VOXEL = [0.2, 0.2, 0.2]
SECOND = dict(
    type='SparseEncoder', in_channels=5, order=('conv', 'norm', 'act'))


def encoder_cfg(name):
    """mmdet3d's own middle-encoder settings, on the small grid."""
    if name == 'centerpoint':
        cfg = copy.deepcopy(get_config(CENTERPOINT).model.pts_middle_encoder)
    else:
        cfg = dict(SECOND)
    cfg['sparse_shape'] = sparse_shape_from_range(RANGE, VOXEL)
    return cfg


def scans(num_points=400, seed=0):
    """Two scans with 5 features; ~10% of the points outside the range."""
    gen = torch.Generator().manual_seed(seed)
    low, high = torch.tensor(RANGE[:3]), torch.tensor(RANGE[3:])
    out = []
    for _ in range(2):
        xyz = low + torch.rand(num_points, 3, generator=gen) * (high - low) \
            * 1.1 - 0.05 * (high - low)
        out.append(torch.cat([xyz, torch.rand(num_points, 2)], 1))
    return out


@pytest.mark.parametrize('name', ['centerpoint', 'second'])
def test_same_parameters_and_bev_as_sparse_encoder(name):
    cfg = encoder_cfg(name)
    reference = MODELS.build(copy.deepcopy(cfg)).eval()
    student = randomize(
        MODELS.build(dict(copy.deepcopy(cfg),
                          type='PointSparseEncoder'))).eval()
    assert {k: v.shape for k, v in student.state_dict().items()} == \
        {k: v.shape for k, v in reference.state_dict().items()}
    reference.load_state_dict(student.state_dict())

    batch = voxelize_for_sparse_encoder(scans(), RANGE, VOXEL)
    with torch.no_grad():
        out = student(batch['voxels'], batch['coors'], 2)
        expected = reference(batch['voxels'], batch['coors'], 2)
    assert torch.equal(out['bev'], expected)
    assert 'bev' not in student(
        batch['voxels'], batch['coors'], 2, return_bev=False)


@pytest.mark.parametrize('name,strides,channels',
                         [('centerpoint', (2, 4, 8, 8), (32, 64, 128, 128)),
                          ('second', (1, 2, 4, 8), (16, 32, 64, 64))])
def test_levels_and_point_feature_shapes(name, strides, channels):
    student = MODELS.build(dict(encoder_cfg(name), type='PointSparseEncoder'))
    points = scans()
    batch = voxelize_for_sparse_encoder(points, RANGE, VOXEL)
    with torch.no_grad():
        out = student(batch['voxels'], batch['coors'], 2)
        feats, valid = student.point_levels(out,
                                            batch['point2voxel']).gather_all()

    assert [lv.stride for lv in out['encode_feats']] == [(s, ) * 3
                                                         for s in strides]
    assert student.level_channels == channels
    num_points = sum(len(p) for p in points)
    assert [f.shape for f in feats] == [(num_points, c) for c in channels]
    outside = torch.cat(batch['point2voxel']) < 0
    assert outside.any()
    for f, v in zip(feats, valid):
        assert torch.equal(v, ~outside)  # nothing else is dropped here
        assert not f[outside].any()
    assert out['bottleneck']['feats'].shape[1] == student.bottleneck_channels


def test_point_features_equal_bruteforce_lookup():
    # CenterPoint's strides (2, 4, 8, 8). With SECOND's extra z cell
    # (sparse_shape z = gz + 1) no point sits on the unpadded z border, so
    # the stage voxel is exactly floor(c / stride) (the clamped border case
    # is checked against spconv in test_voxel_to_point.py).
    student = randomize(
        MODELS.build(
            dict(encoder_cfg('centerpoint'),
                 type='PointSparseEncoder'))).eval()
    points = scans()
    batch = voxelize_for_sparse_encoder(points, RANGE, VOXEL)
    with torch.no_grad():
        out = student(batch['voxels'], batch['coors'], 2, return_bev=False)
        feats, valid = student.point_levels(out,
                                            batch['point2voxel']).gather_all()
    point_coors = torch.cat(points_voxel_coors(points, RANGE, VOXEL))
    checked = 0
    for p in range(0, len(point_coors), 23):
        c = point_coors[p].tolist()
        for level, f, v in zip(out['encode_feats'], feats, valid):
            if c[0] < 0:
                assert not f[p].any() and not v[p]
                continue
            key = [c[0]] + [x // s for x, s in zip(c[1:], level.stride)]
            row = level.coors.tolist().index(key)
            assert torch.equal(f[p], level.feats[row]) and v[p]
            checked += 1
    assert checked > 50


def test_hard_voxel_path_point_coors_give_the_same_features():
    student = MODELS.build(
        dict(encoder_cfg('second'), type='PointSparseEncoder')).eval()
    points = scans()
    batch = voxelize_for_sparse_encoder(points, RANGE, VOXEL)
    with torch.no_grad():
        out = student(batch['voxels'], batch['coors'], 2, return_bev=False)
        from_maps = student.point_levels(out, batch['point2voxel'],
                                         2).gather_all()[0]
        from_coors = student.point_levels(
            out, points_voxel_coors(points, RANGE, VOXEL), 2).gather_all()[0]
    assert len(from_maps) == 2
    for a, b in zip(from_maps, from_coors):
        assert torch.equal(a, b)


def test_voxelize_for_sparse_encoder_grid_and_means():
    assert sparse_shape_from_range([-51.2, -51.2, -5, 51.2, 51.2, 3],
                                   [0.1, 0.1, 0.2]) == [41, 1024, 1024]
    points = [
        torch.tensor([[0.05, 0.05, -4.9, 1.0,
                       0.0], [0.15, 0.1, -4.85, 3.0, 0.0],
                      [9.0, 0.0, 0.0, 0.0, 0.0]]),
        torch.tensor([[-6.3, 6.3, 2.9, 2.0, 1.0]])
    ]
    batch = voxelize_for_sparse_encoder(points, RANGE, VOXEL)
    # (b, z, y, x): the first two points share voxel x=32, y=32, z=0.
    assert batch['coors'].tolist() == [[0, 0, 32, 32], [1, 39, 63, 0]]
    assert batch['point2voxel'][0].tolist() == [0, 0, -1]
    assert batch['point2voxel'][1].tolist() == [0]
    assert batch['voxels'][0, 3] == pytest.approx(2.0)
    assert batch['sparse_shape'] == [41, 64, 64]
