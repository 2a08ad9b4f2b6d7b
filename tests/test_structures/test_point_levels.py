# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch

from projects.HilDA.hilda.structures import PointLevels


@pytest.mark.parametrize('num_voxels', [5, 400])  # fewer / more than rows
def test_point_levels_gather_through_a_head_equals_head_of_rows(num_voxels):
    torch.manual_seed(0)
    feats = torch.randn(num_voxels, 6, requires_grad=True)
    index = torch.randint(0, num_voxels, (300, ))
    index[::7] = -1  # points without a voxel
    rows = torch.randperm(300)[:120]
    head = torch.nn.Sequential(
        torch.nn.Linear(6, 9), torch.nn.LayerNorm(9), torch.nn.GELU())
    levels = PointLevels([feats], [index])

    got = levels.gather(0, rows, head)
    picked = index[rows]
    plain = torch.where(picked[:, None] >= 0, feats[picked.clamp(min=0)],
                        torch.zeros(()))
    expected = head(plain)
    torch.testing.assert_close(got, expected)
    # A point without a voxel gets head(0), as a zero feature would.
    assert (picked < 0).any()
    grad, = torch.autograd.grad(got.square().sum(), feats)
    grad_expected, = torch.autograd.grad(expected.square().sum(), feats)
    # Each voxel's gradient sums about 60 point terms of both signs, in an
    # order that depends on torch's threads: float32 cancellation leaves
    # ~1e-5 relative differences, while a wrong gather is off by O(1).
    torch.testing.assert_close(grad, grad_expected, rtol=1e-4, atol=1e-4)


def test_gather_grouped_gives_each_points_voxel_once():
    """The distinct voxels of the rows (a zero row for points without
    one), and each point's row among them: expanding gives gather()."""
    feats = torch.arange(8.).view(4, 2)
    levels = PointLevels([feats], [torch.tensor([3, -1, 0, 3, 2])])
    voxels, inverse = levels.gather_grouped(0, torch.tensor([0, 1, 3, 4]))
    assert len(voxels) == 3  # voxels 3 and 2, and the zero row
    assert voxels.index_select(0, inverse).tolist() == [[6., 7.], [0., 0.],
                                                        [6., 7.], [4., 5.]]
    full = levels.gather(0)
    assert full.tolist() == [[6., 7.], [0., 0.], [0., 1.], [6., 7.], [4., 5.]]


def test_point_levels_select_and_gather_all():
    feats = torch.arange(8.).view(4, 2)
    levels = PointLevels([feats], [torch.tensor([3, -1, 0, 2])])
    sub = levels.select(slice(1, 3))
    gathered, valid = sub.gather_all()
    assert gathered[0].tolist() == [[0.0, 0.0], [0.0, 1.0]]
    assert valid[0].tolist() == [False, True]
    with pytest.raises(ValueError, match='2 stages of features but 1'):
        PointLevels([feats, feats], [torch.tensor([0])])


def test_point_levels_cat_shifts_each_part_past_the_previous_voxels():
    first = PointLevels([torch.tensor([[1.], [2.]])], [torch.tensor([1, -1])])
    second = PointLevels([torch.tensor([[3.], [4.], [5.]])],
                         [torch.tensor([2, 0, -1])])
    both = PointLevels.cat([first, second])
    gathered, valid = both.gather_all()
    assert gathered[0].view(-1).tolist() == [2., 0., 5., 3., 0.]
    assert valid[0].tolist() == [True, False, True, True, False]
    with pytest.raises(ValueError, match='same number of stages'):
        PointLevels.cat([first, PointLevels([], [])])
