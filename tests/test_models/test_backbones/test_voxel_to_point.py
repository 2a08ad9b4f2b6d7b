# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
from spconv.pytorch import SparseConv3d, SparseConvTensor

from projects.HilDA.hilda.models.backbones.voxel_to_point import (
    batch_point2voxel, conv_output_coors, match_coors, strided_conv_geometries)


def grid_voxels(shape, seed=0):
    """Half of a small grid's cells in sample 0, the other half in 1."""
    cells = torch.stack(
        torch.meshgrid(*[torch.arange(n) for n in shape], indexing='ij'),
        -1).reshape(-1, 3)
    keep = torch.rand(
        len(cells), generator=torch.Generator().manual_seed(seed)) < 0.5
    return torch.cat([
        torch.cat(
            [torch.zeros(int(keep.sum()), 1, dtype=torch.long), cells[keep]],
            1),
        torch.cat([
            torch.ones(int((~keep).sum()), 1, dtype=torch.long), cells[~keep]
        ], 1)
    ]).int()


@pytest.mark.parametrize(
    'kernel,stride,padding,shape',
    [
        (2, 2, 0, (7, 6, 5)),  # MinkUNet downsampling, odd + even extents
        (3, 2, 1, (7, 6, 5)),  # SECOND / CenterPoint
        (3, 2, (0, 1, 1), (6, 7, 5)),  # CenterPoint stage 3: no z padding
        ((3, 1, 1), (2, 1, 1), 0, (5, 4, 4)),  # SparseEncoder.conv_out
    ])
def test_conv_output_coors_picks_an_output_spconv_feeds(
        kernel, stride, padding, shape):
    coors = grid_voxels(shape)
    m = len(coors)
    conv = SparseConv3d(m, m, kernel, stride, padding, bias=False)
    # One channel per input voxel: output channel j > 0 iff input j feeds
    # that output voxel.
    conv.weight.data = torch.eye(m)[:, None, None, None, :].expand_as(
        conv.weight).contiguous()
    out = conv(SparseConvTensor(torch.eye(m), coors, list(shape), 2))
    feeds = out.features > 0.5  # (M_out, M_in)

    geometry, = strided_conv_geometries(conv)
    assert geometry.out_shape(shape) == tuple(out.spatial_shape)
    mapped, valid = conv_output_coors(coors, geometry, out.spatial_shape)
    index = match_coors(mapped, out.indices)

    assert torch.equal(valid, feeds.any(0))
    inputs = valid.nonzero()[:, 0]
    assert (index[inputs] >= 0).all()
    assert feeds[index[inputs], inputs].all()
    # Wherever spconv feeds the floor cell, that is the one chosen.
    floor = torch.cat([
        coors[:, :1].long(),
        torch.div(
            coors[:, 1:].long(),
            mapped.new_tensor(geometry.stride),
            rounding_mode='floor')
    ], 1)
    floor_index = match_coors(floor, out.indices)
    has_floor = floor_index >= 0
    floor_fed = torch.zeros_like(valid)
    floor_fed[has_floor] = feeds[floor_index[has_floor],
                                 has_floor.nonzero()[:, 0]]
    assert torch.equal(mapped[floor_fed], floor[floor_fed])
    if kernel == 2:
        assert floor_fed[valid].all()  # exactly c // 2 for MinkUNet


def test_match_coors_against_bruteforce():
    gen = torch.Generator().manual_seed(1)
    table = torch.unique(torch.randint(-3, 9, (80, 4), generator=gen), dim=0)
    absent = torch.tensor([[50, 0, 0, 0], [-7, 1, 2, 3]])
    query = torch.cat(
        [table[torch.randperm(len(table), generator=gen)], absent])
    index = match_coors(query, table)
    for q, i in zip(query.tolist(), index.tolist()):
        rows = [r for r, t in enumerate(table.tolist()) if t == q]
        assert i == (rows[0] if rows else -1)


def test_batch_point2voxel_offsets_per_sample_maps():
    coors = torch.tensor([[0, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0],
                          [1, 2, 0, 0], [1, 3, 0, 0]])
    maps = [torch.tensor([1, -1, 0]), torch.tensor([2, 0, -1, 1])]
    assert batch_point2voxel(maps, coors).tolist() == [1, -1, 0, 4, 2, -1, 3]
