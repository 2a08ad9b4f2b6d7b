# Copyright (c) HilDA authors. All rights reserved.
import numpy as np
import pytest
import torch

from projects.HilDA.hilda.structures import BEVGrid

# H (y) != W (x) and an off-centre range, so a swapped axis or a missing
# offset shows.
GRID = BEVGrid.build((-8.0, -4.0, -2.0, 8.0, 8.0, 2.0), 1.0)


def test_shape_rows_are_y_columns_are_x():
    assert GRID.shape == (12, 16)


def test_numpy_and_torch_put_every_point_in_the_same_cell():
    # Random float32 points plus points exactly on and just off cell edges
    # and range borders, where floor and the float32 expression matter.
    rng = np.random.default_rng(0)
    points = rng.uniform(-9, 9, (500, 3)).astype(np.float32)
    edges = np.array(
        [[-8.0, -4.0, -2.0], [-7.0, 3.0, 1.999], [8.0, 8.0, 2.0],
         [np.nextafter(np.float32(-7), np.float32(-8)), 0.0, 0.0],
         [0.0, np.nextafter(np.float32(8), np.float32(0)), 0.0]],
        dtype=np.float32)
    points = np.concatenate([points, edges])
    for check_z in (True, False):
        iy, ix, inside = GRID.cell_index(points, check_z)
        tiy, tix, tinside = GRID.cell_index(torch.from_numpy(points), check_z)
        assert isinstance(tiy, torch.Tensor) and isinstance(iy, np.ndarray)
        np.testing.assert_array_equal(inside, tinside.numpy())
        np.testing.assert_array_equal(iy[inside], tiy.numpy()[inside])
        np.testing.assert_array_equal(ix[inside], tix.numpy()[inside])
    # The corners: the minimum corner is cell (0, 0), the maximum is out.
    iy, ix, inside = GRID.cell_index(edges)
    assert (iy[0], ix[0], inside[0]) == (0, 0, True)
    assert (iy[1], ix[1]) == (7, 1)
    assert not inside[2]
    assert ix[3] == 0


def test_z_outside_the_range_counts_only_when_checked():
    point = np.array([[0.5, 0.5, 5.0]], dtype=np.float32)
    assert not GRID.cell_index(point)[2][0]
    assert GRID.cell_index(point, check_z=False)[2][0]


def test_build_rejects_a_bad_range_or_cell():
    with pytest.raises(ValueError, match='6 values'):
        BEVGrid.build((0, 0, 1, 1), 1.0)
    with pytest.raises(ValueError, match='positive'):
        BEVGrid.build((0, 0, 0, 1, 1, 1), 0.0)
