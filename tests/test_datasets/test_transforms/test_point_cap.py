# Copyright (c) HilDA authors. All rights reserved.
"""A cap on points per scan: subsampled with a counted warning, or an
error where labels would misalign (issue 30, item 6)."""
import numpy as np
import pytest

from projects.HilDA.hilda.datasets import BadSampleError
from projects.HilDA.hilda.datasets.transforms.loading import (
    DEFAULT_MAX_POINTS, REPAIR_COUNTS, LoadCheckedPointsFromFile,
    load_points_file)


@pytest.fixture
def scan(tmp_path):
    rng = np.random.default_rng(0)
    points = np.c_[rng.uniform(-50, 50, (5000, 3)),
                   rng.uniform(0, 255, (5000, 2))].astype(np.float32)
    path = tmp_path / 'big.bin'
    points.tofile(path)
    return str(path), points


def test_scan_above_the_cap_is_subsampled_counted_and_logged(scan, caplog):
    path, points = scan
    before = REPAIR_COUNTS['capped_scans']
    kept = load_points_file(path, 5, 4, max_points=1000)
    assert kept.shape == (1000, 4)
    assert REPAIR_COUNTS['capped_scans'] == before + 1
    # a subset of the scan's rows, in scan order
    rows = {tuple(r) for r in points[:, :4]}
    assert all(tuple(r) in rows for r in kept)
    index = [np.flatnonzero((points[:, :4] == r).all(1))[0] for r in kept]
    assert index == sorted(index)


def test_scan_below_the_cap_is_untouched(scan):
    path, points = scan
    np.testing.assert_array_equal(
        load_points_file(path, 5, 4, max_points=5000), points[:, :4])
    assert load_points_file(path, 5, 4, max_points=None).shape == (5000, 4)


def test_cap_with_per_point_labels_is_an_error_naming_the_file(scan):
    path, _ = scan
    with pytest.raises(
            BadSampleError,
            match=f'{path}: 5000 points, more '
            'than max_points=1000'):
        load_points_file(path, 5, 4, max_bad_ratio=0, max_points=1000)


def test_transforms_take_the_cap(scan):
    path, _ = scan
    load = LoadCheckedPointsFromFile(
        coord_type='LIDAR', load_dim=5, use_dim=4, max_points=100)
    out = load(dict(lidar_points=dict(lidar_path=path)))
    assert len(out['points']) == 100
    assert LoadCheckedPointsFromFile(
        coord_type='LIDAR', load_dim=5,
        use_dim=4).max_points == DEFAULT_MAX_POINTS
