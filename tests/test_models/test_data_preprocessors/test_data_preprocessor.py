# Copyright (c) HilDA authors. All rights reserved.
import numpy as np
import pytest
import torch
from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, PointData

from projects.HilDA.hilda.models.data_preprocessors import unique_voxels
from tests.helpers.tiny_hilda import preprocessor_cfg, voxel_layer

VOXEL_SIZE = 0.5


def build_preprocessor(max_voxels=None):
    return MODELS.build(
        preprocessor_cfg(
            max_voxels=max_voxels, voxel_layer=voxel_layer(VOXEL_SIZE)))


def make_batch(num_samples=2, num_points=500, seed=0):
    gen = torch.Generator().manual_seed(seed)
    points, samples = [], []
    for _ in range(num_samples):
        pts = torch.rand(num_points, 4, generator=gen) * 10 - 5
        sample = Det3DDataSample()
        sample.gt_pts_seg = PointData(
            pts_semantic_mask=torch.randint(
                0, 5, (num_points, ), generator=gen))
        points.append(pts)
        samples.append(sample)
    return dict(inputs=dict(points=points), data_samples=samples)


def test_unique_voxels_matches_mmdet3d_sparse_quantize():
    coors = np.random.default_rng(0).integers(0, 6, (1000, 3))
    # mmdet3d's own (numpy) quantisation, inherited by the HilDA class.
    expected_first, expected_inverse = Det3DDataPreprocessor.sparse_quantize(
        build_preprocessor(), coors, return_index=True, return_inverse=True)
    first, inverse = unique_voxels(torch.from_numpy(coors))
    np.testing.assert_array_equal(first.numpy(), expected_first)
    np.testing.assert_array_equal(inverse.numpy(), expected_inverse)


def test_minkunet_voxelisation_runs_on_cpu_and_maps_points_back():
    preprocessor = build_preprocessor()
    batch = make_batch()
    out = preprocessor(batch, training=False)
    voxel_dict = out['inputs']['voxels']
    coors, voxels = voxel_dict['coors'], voxel_dict['voxels']
    assert coors.device.type == 'cpu'
    assert coors.shape[1] == 4 and voxels.shape == (len(coors), 4)
    offset = 0
    for i, (points, sample) in enumerate(
            zip(batch['inputs']['points'], out['data_samples'])):
        grid = torch.round(points[:, :3] / VOXEL_SIZE).int()
        grid -= grid.min(0)[0]
        sample_coors = coors[coors[:, 0] == i]
        # Every point's voxel holds the point's own grid cell.
        assert torch.equal(sample_coors[sample.point2voxel_map, 1:], grid)
        # One voxel per occupied cell, none duplicated.
        assert len(sample_coors) == len(torch.unique(grid, dim=0))
        # Voxel labels come from a point inside that voxel.
        voxel_labels = sample.gt_pts_seg.voxel_semantic_mask
        first_points = voxels[offset:offset + len(sample_coors)]
        assert torch.equal(
            torch.round(first_points[:, :3] / VOXEL_SIZE).int() -
            torch.round(points[:, :3] / VOXEL_SIZE).int().min(0)[0],
            sample_coors[:, 1:])
        assert voxel_labels.shape == (len(sample_coors), )
        offset += len(sample_coors)


def test_max_voxels_marks_points_of_dropped_voxels():
    torch.manual_seed(0)
    preprocessor = build_preprocessor(max_voxels=50)
    out = preprocessor(make_batch(num_samples=1), training=True)
    sample = out['data_samples'][0]
    coors = out['inputs']['voxels']['coors']
    assert len(coors) == 50
    mapping = sample.point2voxel_map
    assert (mapping == -1).any() and (mapping >= 0).any()
    assert mapping.max() == 49
    assert sample.gt_pts_seg.voxel_semantic_mask.shape == (50, )


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_minkunet_voxelisation_stays_on_gpu():
    preprocessor = build_preprocessor().cuda()
    batch = make_batch()
    batch['inputs']['points'] = [p.cuda() for p in batch['inputs']['points']]
    out = preprocessor(batch, training=False)
    assert out['inputs']['voxels']['coors'].is_cuda
