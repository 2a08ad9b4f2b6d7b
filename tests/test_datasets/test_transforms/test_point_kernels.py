# Copyright (c) HilDA authors. All rights reserved.
"""The compiled rigid transform gives numpy's numbers bit for bit."""
import numpy as np
import pytest

from projects.HilDA.hilda.datasets.transforms.projection import transform_xyz


def numpy_transform_xyz(xyz, matrix):
    """The numpy passes ``transform_xyz`` used to make (the reference)."""
    rot = np.asarray(matrix, dtype=xyz.dtype)[:3]
    out = np.empty((len(xyz), 3), dtype=xyz.dtype)
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    for k in range(3):
        np.add(
            rot[k, 0] * x + rot[k, 1] * y + rot[k, 2] * z,
            rot[k, 3],
            out=out[:, k])
    return out


def random_rigid(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    matrix = np.eye(4)
    matrix[:3, :3] = q * np.sign(np.linalg.det(q)) * rng.uniform(0.95, 1.05)
    matrix[:3, 3] = rng.normal(scale=30, size=3)
    return matrix


def random_scan(rng, num=20000):
    points = rng.normal(scale=25, size=(num, 4)).astype(np.float32)
    points[:50, :3] = 0.0
    points[50:100, :3] = -0.0
    return points


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_transform_xyz_is_numpys_arithmetic(dtype):
    rng = np.random.default_rng(0)
    for _ in range(5):
        points, matrix = random_scan(rng), random_rigid(rng)
        xyz = points[:, :3].astype(dtype)
        expected = numpy_transform_xyz(xyz, matrix)
        got = transform_xyz(xyz, matrix)
        assert got.dtype == expected.dtype
        # Bit for bit, signed zeros included.
        assert np.array_equal(got.view(np.uint8), expected.view(np.uint8))


def test_float64_arithmetic_into_float32_columns_in_place():
    # What LoadTemporalPoints does: float64 arithmetic on float32 points,
    # stored back into the scan's first three columns.
    rng = np.random.default_rng(1)
    points, matrix = random_scan(rng), random_rigid(rng)
    expected = points.copy()
    expected[:, :3] = numpy_transform_xyz(expected[:, :3].astype(np.float64),
                                          matrix)
    transform_xyz(points, matrix, dtype=np.float64, out=points)
    assert np.array_equal(points.view(np.uint8), expected.view(np.uint8))
