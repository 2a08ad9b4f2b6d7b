# Copyright (c) HilDA authors. All rights reserved.
import numpy as np
import pytest
import torch

from projects.HilDA.hilda.datasets.transforms import bev_occupancy
from projects.HilDA.hilda.models.heads import bev_pool, sample_bev_patch_mask

# H (y) != W (x) and an off-centre range, so a swapped axis or a missing
# offset shows.
PCR = (-8.0, -4.0, -2.0, 8.0, 8.0, 2.0)
CELL = 1.0
K = 4


def random_points(num, seed=0, margin=0.0):
    gen = torch.Generator().manual_seed(seed)
    low = torch.tensor(PCR[:3]) - margin
    high = torch.tensor(PCR[3:]) + margin
    return low + torch.rand(num, 3, generator=gen) * (high - low)


def test_each_point_lands_where_bev_occupancy_marks_it():
    # Random points plus points exactly on cell edges, where floor matters.
    edges = torch.tensor([[-8.0, -4.0, 0.0], [-7.0, 3.0, 1.0],
                          [7.0, 7.0, -2.0], [0.0, 0.0, 0.0]])
    points = torch.cat([random_points(40), edges])
    for point in points:
        occ = bev_occupancy(point[None].numpy(), PCR, CELL, K)
        pooled = bev_pool(
            torch.tensor([[3.0, -2.0]]), point[None],
            torch.zeros(1, dtype=torch.long), 1, PCR, CELL)
        assert pooled.shape == (1, 2, 12, 16)
        expected = np.argwhere(occ.max(0) == 1)
        assert len(expected) == 1
        filled = torch.nonzero(pooled[0, 0]).numpy()
        np.testing.assert_array_equal(filled, expected)
        row, col = expected[0]
        assert pooled[0, :, row, col].tolist() == [3.0, -2.0]


def test_occupied_cells_match_bev_occupancy_for_a_whole_cloud():
    points = random_points(500, seed=1, margin=2.0)
    occ = bev_occupancy(points.numpy(), PCR, CELL, K)
    pooled = bev_pool(
        torch.ones(len(points), 1), points,
        torch.zeros(len(points), dtype=torch.long), 1, PCR, CELL)
    np.testing.assert_array_equal(pooled[0, 0].numpy() > 0, occ.max(0) > 0)


def test_mean_and_max_of_two_points_in_one_cell():
    xyz = torch.tensor([[0.2, 0.3, 0.0], [0.8, 0.6, 1.0]])
    feats = torch.tensor([[1.0, 10.0], [3.0, -4.0]])
    batch = torch.zeros(2, dtype=torch.long)
    mean = bev_pool(feats, xyz, batch, 1, PCR, CELL, reduce='mean')
    vmax = bev_pool(feats, xyz, batch, 1, PCR, CELL, reduce='max')
    # x in [0, 1) -> column 8, y in [0, 1) -> row 4.
    assert mean[0, :, 4, 8].tolist() == [2.0, 3.0]
    assert vmax[0, :, 4, 8].tolist() == [3.0, 10.0]
    assert torch.count_nonzero(mean) == 2 and torch.count_nonzero(vmax) == 2


def test_out_of_range_points_are_dropped_and_samples_stay_apart():
    xyz = torch.tensor([
        [8.0, 0.0, 0.0],  # x == x_max
        [0.0, -4.1, 0.0],  # y < y_min
        [0.0, 0.0, 2.0],  # z == z_max
        [0.0, 0.0, -2.5],  # z < z_min
        [0.5, 0.5, 0.0],  # inside, sample 1
    ])
    batch = torch.tensor([0, 0, 1, 1, 1])
    pooled = bev_pool(torch.ones(5, 1), xyz, batch, 2, PCR, CELL)
    assert torch.count_nonzero(pooled[0]) == 0
    assert torch.nonzero(pooled[1, 0]).tolist() == [[4, 8]]


def test_gradient_reaches_every_pooled_point():
    xyz = random_points(30, seed=2)
    feats = torch.randn(30, 3, requires_grad=True)
    pooled = bev_pool(feats, xyz, torch.zeros(30, dtype=torch.long), 1, PCR,
                      CELL)
    pooled.sum().backward()
    assert torch.all(feats.grad.abs().sum(1) > 0)


@pytest.mark.parametrize('ratio', [0.25, 0.5])
def test_patch_mask_drops_exactly_the_points_in_masked_cells(ratio):
    torch.manual_seed(0)
    xyz = random_points(2000, seed=3, margin=1.0)
    batch = torch.arange(2).repeat_interleave(1000)
    keep, bev_mask = sample_bev_patch_mask(
        xyz, batch, 2, PCR, CELL, patch_size=4, mask_ratio=ratio)
    assert bev_mask.shape == (2, 1, 12, 16) and keep.shape == (2000, )
    # 3 x 4 patches of 4 x 4 cells; a fixed number masked per sample.
    patches = bev_mask[:, 0].reshape(2, 3, 4, 4, 4).permute(0, 1, 3, 2, 4)
    patches = patches.reshape(2, 12, 16)
    assert torch.all((patches == 0) | (patches == 1))
    assert torch.all(patches.min(-1).values == patches.max(-1).values)
    assert patches[:, :, 0].sum(1).tolist() == [round(ratio * 12)] * 2
    ix = torch.floor(xyz[:, 0] + 8).long()
    iy = torch.floor(xyz[:, 1] + 4).long()
    in_xy = (ix >= 0) & (ix < 16) & (iy >= 0) & (iy < 12)
    masked = torch.zeros(2000, dtype=torch.bool)
    masked[in_xy] = bev_mask[batch[in_xy], 0, iy[in_xy], ix[in_xy]] > 0
    assert torch.equal(keep, ~masked)
    assert 0 < (~keep).sum() < 2000


def test_a_voxel_with_any_point_in_a_masked_cell_is_hit():
    from projects.HilDA.hilda.models.heads import voxels_with_points_in

    # Sample 0: voxels 0, 1; sample 1: voxels 2, 3, 4 (global rows).
    maps = [torch.tensor([0, 0, 1, -1]), torch.tensor([2, 0, 1, 1])]
    voxel_batch = torch.tensor([0, 0, 1, 1, 1])
    # Voxel 0's first point is clear, its second hit; the point without
    # a voxel (-1) is hit and must not hit anything; sample 1's voxel 1
    # (global 3) has a hit last point.
    hit = torch.tensor([False, True, False, True, False, False, False, True])
    result = voxels_with_points_in(hit, maps, voxel_batch)
    assert result.tolist() == [True, False, False, True, False]
    with pytest.raises(ValueError, match='3 point flags'):
        voxels_with_points_in(hit[:3], maps, voxel_batch)
