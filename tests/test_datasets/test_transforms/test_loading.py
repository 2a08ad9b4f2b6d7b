# Copyright (c) HilDA authors. All rights reserved.
"""Bad input: each problem gives an error naming the file, or a filtered
result with a counted warning."""
import os
import os.path as osp

import numpy as np
import pytest
from mmdet3d.registry import TRANSFORMS

from projects.HilDA.hilda.datasets.transforms import (BadSampleError,
                                                      load_points_file)
from projects.HilDA.hilda.datasets.transforms.loading import REPAIR_COUNTS
from tests.helpers.synthetic_nuscenes import hilda_dataset, write_sequence

LOAD_T0 = dict(
    type='LoadCheckedPointsFromFile',
    coord_type='LIDAR',
    load_dim=5,
    use_dim=5)
LOAD_IMAGES = dict(type='LoadCheckedMultiViewImages', num_views=6)


@pytest.fixture
def sequence(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), num_frames=2)
    return tmp_path, info


def test_truncated_scan_names_file_and_size(tmp_path):
    path = osp.join(str(tmp_path), 'cut.bin')
    np.zeros(5 * 10 + 3, np.float32).tofile(path)
    with pytest.raises(BadSampleError, match=r'cut\.bin: 212 bytes'):
        load_points_file(path, 5, 4)


def test_empty_scan_is_an_error(tmp_path):
    path = osp.join(str(tmp_path), 'empty.bin')
    open(path, 'wb').close()
    with pytest.raises(BadSampleError, match='empty.bin: the scan has no'):
        load_points_file(path, 5, 4)


def test_nan_rows_are_dropped_and_counted(tmp_path, caplog):
    path = osp.join(str(tmp_path), 'nan.bin')
    points = np.arange(50, dtype=np.float32).reshape(10, 5)
    points[2, 0] = np.nan
    points[7, 2] = np.inf
    points.tofile(path)
    before = REPAIR_COUNTS['non_finite_points']
    loaded = load_points_file(path, 5, [0, 1, 2, 3])
    assert loaded.shape == (8, 4)
    np.testing.assert_array_equal(loaded, points[[0, 1, 3, 4, 5, 6, 8, 9],
                                                 :4])
    assert REPAIR_COUNTS['non_finite_points'] == before + 1


def test_missing_image_names_the_file(sequence):
    root, info = sequence
    os.remove(osp.join(str(root), 'CAM_BACK_0.png'))
    dataset = hilda_dataset(root, info, [LOAD_T0, LOAD_IMAGES])
    with pytest.raises(BadSampleError,
                       match=r'CAM_BACK_0\.png: image file does not exist'):
        dataset[0]


def test_wrong_calibration_shape_names_camera_and_file(sequence):
    root, info = sequence
    dataset = hilda_dataset(root, info, [LOAD_T0])
    results = dataset[0]
    results['images']['CAM_FRONT']['lidar2cam'] = np.eye(3, 4).tolist()
    with pytest.raises(BadSampleError,
                       match=r'CAM_FRONT_0\.png \(CAM_FRONT\): lidar2cam '
                       r'must be 3x3 or 4x4, got shape \(3, 4\)'):
        TRANSFORMS.build(LOAD_IMAGES)(results)


def test_camera_without_points_gives_counted_warning(sequence):
    root, info = sequence
    dataset = hilda_dataset(root, info, [LOAD_T0, LOAD_IMAGES])
    results = dataset[0]
    # Keep only points in front of the car: the back cameras see nothing.
    points = results['points']
    keep = points.tensor[:, 1] < -2  # LiDAR -y is the ego's forward x
    results['points'] = points[keep]
    project = TRANSFORMS.build(dict(type='ProjectPointsToImages'))
    results = project(results)
    counts = results['num_pairs_per_cam']
    assert counts[0] > 0 and counts[3] == 0
    assert project.empty_camera_count == int((counts == 0).sum())
