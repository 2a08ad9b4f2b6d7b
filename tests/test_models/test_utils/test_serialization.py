# Copyright (c) HilDA authors. All rights reserved.
import itertools

import pytest
import torch

from projects.HilDA.hilda.models.utils.serialization import (ORDERS, encode,
                                                             hilbert_encode,
                                                             patch_layout,
                                                             serialize,
                                                             z_order_encode)


def cube(depth):
    """Every cell of a 2**depth cube, (8**depth, 3)."""
    side = range(2**depth)
    return torch.tensor(list(itertools.product(side, side, side)))


def morton_reference(x, y, z, depth):
    """The z-order by its recursive definition: the octant at the top bit
    (x, y, z weighted 4, 2, 1), then the code inside the octant."""
    if depth == 0:
        return 0
    half = 1 << (depth - 1)
    octant = 4 * (x >= half) + 2 * (y >= half) + (z >= half)
    return octant * 8**(depth - 1) + morton_reference(x % half, y % half,
                                                      z % half, depth - 1)


def hilbert_reference(cell, depth):
    """Skilling's AxestoTranspose on Python ints, one cell at a time, then
    the transposed index read out bit by bit (axis 0 first)."""
    x = list(cell)
    q = 1 << (depth - 1)
    while q > 1:
        p = q - 1
        for i in range(3):
            if x[i] & q:
                x[0] ^= p
            else:
                t = (x[0] ^ x[i]) & p
                x[0] ^= t
                x[i] ^= t
        q >>= 1
    for i in range(1, 3):
        x[i] ^= x[i - 1]
    t, q = 0, 1 << (depth - 1)
    while q > 1:
        if x[2] & q:
            t ^= q - 1
        q >>= 1
    x = [v ^ t for v in x]
    code = 0
    for bit in range(depth - 1, -1, -1):
        for i in range(3):
            code = (code << 1) | ((x[i] >> bit) & 1)
    return code


@pytest.mark.parametrize('depth', [1, 2, 3])
def test_z_order_equals_recursive_definition(depth):
    cells = cube(depth)
    expected = torch.tensor(
        [morton_reference(*c.tolist(), depth) for c in cells])
    assert torch.equal(z_order_encode(cells, depth), expected)


@pytest.mark.parametrize('depth', [1, 2, 3])
def test_hilbert_equals_scalar_reference(depth):
    cells = cube(depth)
    expected = torch.tensor(
        [hilbert_reference(c.tolist(), depth) for c in cells])
    assert torch.equal(hilbert_encode(cells, depth), expected)


@pytest.mark.parametrize('depth', [1, 2, 3])
def test_hilbert_is_a_face_adjacent_path_through_every_octant(depth):
    """The curve's defining properties, independent of any
    implementation: a bijection onto 0..8**d-1, consecutive codes in
    face-adjacent cells, every aligned run of 8**l codes one aligned cube
    of side 2**l (what grid pooling relies on)."""
    cells = cube(depth)
    codes = hilbert_encode(cells, depth)
    assert torch.equal(codes.sort().values, torch.arange(8**depth))
    path = cells[codes.argsort()]
    assert ((path[1:] - path[:-1]).abs().sum(1) == 1).all()
    for level in range(1, depth + 1):
        runs = path.view(-1, 8**level, 3) >> level
        assert (runs == runs[:, :1]).all()


def test_z_order_is_not_a_face_adjacent_path():
    """The adjacency test above tells the curves apart."""
    cells = cube(2)
    path = cells[z_order_encode(cells, 2).argsort()]
    assert not ((path[1:] - path[:-1]).abs().sum(1) == 1).all()


@pytest.mark.parametrize('curve', ['z', 'hilbert'])
def test_transposed_orders_swap_x_and_y(curve):
    cells = torch.randint(0, 16, (50, 3))
    batch = torch.zeros(50, dtype=torch.long)
    assert torch.equal(
        encode(cells, batch, 4, f'{curve}-trans'),
        encode(cells[:, [1, 0, 2]], batch, 4, curve))
    assert not torch.equal(
        encode(cells, batch, 4, f'{curve}-trans'),
        encode(cells, batch, 4, curve))


def unique_voxels(num=200, batch_size=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    coors = torch.cat([
        torch.randint(0, batch_size, (num, 1), generator=gen),
        torch.randint(0, 40, (num, 3), generator=gen)
    ], 1)
    return torch.unique(
        coors,
        dim=0)[torch.randperm(len(torch.unique(coors, dim=0)), generator=gen)]


def test_serialize_each_voxel_once_and_inverse_restores():
    coors = unique_voxels()
    s = serialize(coors, ORDERS)
    n = len(coors)
    assert s.order.shape == (4, n) and s.names == ORDERS
    for k in range(4):
        assert torch.equal(s.order[k].sort().values, torch.arange(n))
        assert torch.equal(s.order[k][s.inverse[k]], torch.arange(n))
        assert torch.equal(coors[s.order[k]][s.inverse[k]], coors)
        # Samples follow each other; codes increase along the order.
        assert (coors[s.order[k], 0].diff() >= 0).all()
        assert (s.codes[k][s.order[k]].diff() > 0).all()
    # The four curves are four different orders.
    assert len({tuple(o.tolist()) for o in s.order}) == 4


def test_serialize_does_not_depend_on_input_order():
    coors = unique_voxels()
    perm = torch.randperm(
        len(coors), generator=torch.Generator().manual_seed(1))
    a, b = serialize(coors, ORDERS), serialize(coors[perm], ORDERS)
    for k in range(4):
        assert torch.equal(coors[a.order[k]], coors[perm][b.order[k]])


def test_encode_rejects_unknown_order_and_deep_grid():
    cells = torch.zeros((1, 3), dtype=torch.long)
    with pytest.raises(ValueError, match='unknown serialization order'):
        encode(cells, cells[:, 0], 2, 'peano')
    with pytest.raises(ValueError, match='depth'):
        encode(cells, cells[:, 0], 17, 'z')


def test_patch_layout_pads_each_sample_to_whole_patches():
    layout = patch_layout(torch.tensor([5, 3, 0, 9]), 4)
    assert layout.patch_size == 4
    # Sample 0 -> slots 0..4 (patches 0, 1), sample 1 -> 8..10 (patch 2),
    # sample 3 -> 12..20 (patches 3, 4, 5).
    assert layout.slot.tolist() == [0, 1, 2, 3, 4, 8, 9, 10] + list(
        range(12, 21))
    assert layout.num_patches == 6
    assert layout.full.tolist() == [0, 3, 4]
    assert layout.partial.tolist() == [1, 2, 5]
    assert layout.partial_mask.tolist() == [[True, False, False, False],
                                            [True, True, True, False],
                                            [True, False, False, False]]


def test_patch_layout_shrinks_to_largest_sample():
    layout = patch_layout(torch.tensor([5, 3]), 1024)
    assert layout.patch_size == 5
    assert layout.full.tolist() == [0] and layout.partial.tolist() == [1]
