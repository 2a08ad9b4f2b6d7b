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
from tests.helpers.synthetic_nuscenes import (CAMS, LOAD_IMAGES,
                                              LOAD_POINTS_5D, hilda_dataset,
                                              skip_bad_samples_dataset,
                                              write_sequence)

LOAD_T0 = LOAD_POINTS_5D


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
    np.testing.assert_array_equal(loaded, points[[0, 1, 3, 4, 5, 6, 8, 9], :4])
    assert REPAIR_COUNTS['non_finite_points'] == before + 1


def test_missing_image_names_the_file(sequence):
    root, info = sequence
    os.remove(osp.join(str(root), 'CAM_BACK_0.png'))
    dataset = hilda_dataset(root, info, [LOAD_T0, LOAD_IMAGES])
    with pytest.raises(
            BadSampleError,
            match=r'CAM_BACK_0\.png: image file does not exist'):
        dataset[0]


def test_wrong_calibration_shape_names_camera_and_file(sequence):
    root, info = sequence
    dataset = hilda_dataset(root, info, [LOAD_T0])
    results = dataset[0]
    results['images']['CAM_FRONT']['lidar2cam'] = np.eye(3, 4).tolist()
    with pytest.raises(
            BadSampleError,
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


def write_scan(path, points):
    np.asarray(points, dtype=np.float32).tofile(path)
    return path


def plain_scan(num=1000, seed=0):
    """x, y, z within 50 m, intensity 0-255, ring 0-31."""
    rng = np.random.default_rng(seed)
    return np.c_[rng.uniform(-50, 50, (num, 2)),
                 rng.uniform(-3, 5, num),
                 rng.uniform(0, 255, num),
                 rng.integers(0, 32, num)].astype(np.float32)


def test_random_bytes_scan_is_rejected_naming_the_file(tmp_path):
    """A file of the right length full of random bytes parses as float32
    but is garbage: a BadSampleError names it (before: it loaded)."""
    path = osp.join(str(tmp_path), 'noise.bin')
    rng = np.random.default_rng(0)
    with open(path, 'wb') as f:
        f.write(rng.bytes(4 * 5 * 2000))
    with pytest.raises(
            BadSampleError,
            match=r'noise\.bin: \d+ of 2000 points are '
            r'non-finite or out of range'):
        load_points_file(path, 5, 4)


@pytest.fixture
def logged(monkeypatch):
    """Messages the loading module logs (mmengine's logger does not
    propagate to pytest's caplog)."""
    from projects.HilDA.hilda.datasets.transforms import loading
    messages = []
    monkeypatch.setattr(loading, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    return messages


@pytest.mark.parametrize('column,value', [(0, 1e30), (2, -1e30), (3, 1e30)])
def test_absurd_values_are_dropped_and_counted(tmp_path, logged, column,
                                               value):
    """A few points at x=1e30 (or intensity 1e30) are dropped with a
    warning that names the file and counts them."""
    points = plain_scan()
    points[[5, 17], column] = value
    path = write_scan(osp.join(str(tmp_path), 'far.bin'), points)
    before = REPAIR_COUNTS['out_of_range_points']
    loaded = load_points_file(path, 5, 4)
    np.testing.assert_array_equal(loaded,
                                  np.delete(points, [5, 17], axis=0)[:, :4])
    assert REPAIR_COUNTS['out_of_range_points'] == before + 1
    assert len(logged) == 1
    assert 'far.bin: dropped 2 of 1000 points (2 with out-of-range' in \
        logged[0]


def test_range_checks_are_configurable(tmp_path):
    points = plain_scan()
    points[:, 3] = 1000.0  # e.g. a sensor with intensities up to 4095
    path = write_scan(osp.join(str(tmp_path), 'bright.bin'), points)
    with pytest.raises(BadSampleError, match='bright.bin: 1000 of 1000'):
        load_points_file(path, 5, 4)
    loaded = load_points_file(path, 5, 4, feature_range=(0, 4095))
    assert len(loaded) == 1000
    assert len(load_points_file(path, 5, 4, feature_range=None)) == 1000
    # Only the checked (used) columns count: the ring is not used here.
    points[:, 3] = 1.0
    points[:, 4] = 1e30
    write_scan(path, points)
    assert len(load_points_file(path, 5, 4)) == 1000
    # A stricter box drops more; max_bad_ratio decides when it is garbage.
    near = load_points_file(
        path, 5, 4, coord_range=(-25, -50, -5, 25, 50, 5), max_bad_ratio=0.9)
    assert 0 < len(near) < 1000
    with pytest.raises(BadSampleError, match='max_bad_ratio=0.1'):
        load_points_file(
            path,
            5,
            4,
            coord_range=(-25, -50, -5, 25, 50, 5),
            max_bad_ratio=0.1)


def test_loader_transform_passes_its_range_options(sequence):
    root, info = sequence
    path = osp.join(str(root), 'lidar_0.bin')
    points = np.fromfile(path, dtype=np.float32).reshape(-1, 5)
    points[:3, 3] = 1e30
    points.tofile(path)
    dataset = hilda_dataset(root, info, [LOAD_T0])
    assert len(dataset[0]['points']) == len(points) - 3
    strict = dict(LOAD_T0, feature_range=(0, 0.5), max_bad_ratio=0.01)
    dataset = hilda_dataset(root, info, [strict])
    with pytest.raises(BadSampleError, match='lidar_0.bin: '):
        dataset[0]


def test_temporal_scans_are_range_checked(sequence):
    root, info = sequence
    path = osp.join(str(root), 'lidar_1.bin')
    with open(path, 'rb') as f:
        size = len(f.read())
    with open(path, 'wb') as f:
        f.write(np.random.default_rng(1).bytes(size))
    dataset = hilda_dataset(root, info,
                            [LOAD_T0, dict(type='LoadTemporalPoints')])
    with pytest.raises(BadSampleError, match=r'lidar_1\.bin: \d+ of'):
        dataset[0]  # lidar_1 is t+1 of sample 0


def test_real_keyframe_loses_no_point_to_the_range_checks(real_frame_root):
    from tests.conftest import REAL_FRAME_INFO
    dataset = hilda_dataset(
        real_frame_root, REAL_FRAME_INFO, [LOAD_T0], temporal=False)
    assert len(dataset[0]['points']) == 34688


def loaded_sample(root, info):
    """Sample 0 before the image loader."""
    return hilda_dataset(root, info, [LOAD_T0])[0]


def test_empty_jpeg_names_the_path(sequence):
    root, info = sequence
    open(osp.join(str(root), 'CAM_FRONT_0.png'), 'wb').close()
    with pytest.raises(
            BadSampleError, match=r'CAM_FRONT_0\.png: image file is empty'):
        TRANSFORMS.build(LOAD_IMAGES)(loaded_sample(root, info))


def test_garbage_image_names_the_path(sequence):
    root, info = sequence
    with open(osp.join(str(root), 'CAM_FRONT_0.png'), 'wb') as f:
        f.write(b'\x00' * 7)
    with pytest.raises(
            BadSampleError, match=r'CAM_FRONT_0\.png: cannot decode'):
        TRANSFORMS.build(LOAD_IMAGES)(loaded_sample(root, info))


@pytest.mark.parametrize('cams', [('CAM_BACK', ), CAMS])
def test_grayscale_and_rgba_images_become_bgr(sequence, cams):
    """One grayscale and one RGBA image (used to be reported as a size
    mismatch naming the LiDAR file), or all grayscale (crashed)."""
    import cv2
    root, info = sequence
    before = dict(REPAIR_COUNTS)
    for cam in cams:
        path = osp.join(str(root), f'{cam}_0.png')
        img = cv2.imread(path)
        cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    rgba = osp.join(str(root), 'CAM_FRONT_LEFT_0.png')
    cv2.imwrite(rgba, cv2.cvtColor(cv2.imread(rgba), cv2.COLOR_BGR2BGRA))
    results = TRANSFORMS.build(LOAD_IMAGES)(loaded_sample(root, info))
    assert all(img.shape == (48, 64, 3) for img in results['img'])
    gray = results['img'][results['cam_names'].index('CAM_BACK')]
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    # CAM_FRONT_LEFT became RGBA after being made grayscale.
    gray_cams = set(cams) - {'CAM_FRONT_LEFT'}
    assert REPAIR_COUNTS['grayscale_images'] - before[
        'grayscale_images'] == len(gray_cams)
    assert REPAIR_COUNTS['rgba_images'] == before['rgba_images'] + 1


def test_size_mismatch_names_the_image_not_the_lidar_file(sequence):
    import cv2
    root, info = sequence
    path = osp.join(str(root), 'CAM_BACK_0.png')
    cv2.imwrite(path, cv2.resize(cv2.imread(path), (32, 24)))
    with pytest.raises(
            BadSampleError,
            match=r'CAM_BACK_0\.png: image \(CAM_BACK\) is 32x24, '
            r'but .*CAM_FRONT_0\.png is 64x48'):
        TRANSFORMS.build(LOAD_IMAGES)(loaded_sample(root, info))


def with_sizes(info_path, width, height):
    import mmengine
    content = mmengine.load(info_path)
    for sample in content['data_list']:
        for item in sample['images'].values():
            item.update(width=width, height=height)
    mmengine.dump(content, info_path)


def test_recorded_image_size_is_checked(sequence):
    """All six images at another resolution than the calibration's: an
    error naming the file and both sizes (before: accepted)."""
    root, info = sequence
    with_sizes(info, 128, 96)
    with pytest.raises(
            BadSampleError,
            match=r'CAM_FRONT_0\.png: image \(CAM_FRONT\) is '
            r'64x48, but the info file records 128x96'):
        TRANSFORMS.build(LOAD_IMAGES)(loaded_sample(root, info))
    with_sizes(info, 64, 48)
    results = TRANSFORMS.build(LOAD_IMAGES)(loaded_sample(root, info))
    assert results['img_shapes'].tolist() == [[48, 64]] * 6


def test_infos_without_image_size_load_with_one_warning(sequence, logged):
    from projects.HilDA.hilda.datasets.transforms import loading
    root, info = sequence
    loading._warned_no_size = False
    load = TRANSFORMS.build(LOAD_IMAGES)
    for _ in range(2):
        assert len(load(loaded_sample(root, info))['img']) == 6
    assert sum('gives no image width/height' in m for m in logged) == 1


@pytest.mark.parametrize('key,value,match', [
    ('cam2img', np.full((3, 3), np.nan), 'cam2img has non-finite entries'),
    ('cam2img', [[-40, 0, 32], [0, 40, 24], [0, 0, 1]
                 ], 'cam2img focal lengths must be positive, got fx=-40'),
    ('lidar2cam', np.zeros((4, 4)), 'lidar2cam is not a rigid transform'),
    ('lidar2cam', np.diag([2.0, 2.0, 2.0, 1.0
                           ]), 'lidar2cam is not a rigid transform'),
])
def test_bad_calibration_names_image_camera_and_key(sequence, key, value,
                                                    match):
    """A NaN cam2img or a zero lidar2cam used to pass and only lead to
    'no point projects into CAM_FRONT'."""
    root, info = sequence
    results = loaded_sample(root, info)
    results['images']['CAM_FRONT'][key] = np.asarray(value).tolist()
    with pytest.raises(
            BadSampleError, match=r'CAM_FRONT_0\.png \(CAM_FRONT\): ' + match):
        TRANSFORMS.build(LOAD_IMAGES)(results)


def test_sample_with_fewer_cameras_names_the_sample(sequence):
    root, info = sequence
    results = loaded_sample(root, info)
    del results['images']['CAM_BACK']
    with pytest.raises(
            BadSampleError, match=r'lidar_0\.bin: sample tok0 has 5 cameras'):
        TRANSFORMS.build(LOAD_IMAGES)(results)


def test_non_rigid_lidar2t0_names_the_neighbour_file(sequence):
    root, info = sequence
    results = hilda_dataset(root, info, [LOAD_T0])[0]
    results['temporal']['next']['lidar2t0'] = np.diag([1, 1, 0, 1.0])
    with pytest.raises(
            BadSampleError, match=r'lidar_1\.bin: lidar2t0 is not a rigid'):
        TRANSFORMS.build(dict(type='LoadTemporalPoints'))(results)


def test_garbage_scan_is_skipped_by_skip_bad_samples(tmp_path):
    """Before: a random-bytes scan loaded and ended in spconv's 'out
    spatial shape' error, which the guard cannot catch."""
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    path = osp.join(str(tmp_path), 'lidar_2.bin')
    size = os.path.getsize(path)
    with open(path, 'wb') as f:
        f.write(np.random.default_rng(2).bytes(size))
    dataset = skip_bad_samples_dataset(
        tmp_path, info, [LOAD_T0], max_skip_ratio=0.5)
    assert dataset[2]['token'] == 'tok0'
    assert list(dataset.bad_files) == [path]


def test_calibration_tolerance_is_an_option(sequence):
    root, info = sequence
    results = loaded_sample(root, info)
    item = results['images']['CAM_FRONT']
    item['lidar2cam'] = (
        np.asarray(item['lidar2cam']) @ np.diag([1.0001, 1, 1, 1])).tolist()
    TRANSFORMS.build(LOAD_IMAGES)(dict(results))  # within 1e-3
    strict = TRANSFORMS.build(dict(LOAD_IMAGES, rigid_tol=1e-5))
    with pytest.raises(BadSampleError, match='tolerance 1e-05'):
        strict(results)


def test_semantickitti_format_scan_passes_the_default_ranges(tmp_path):
    """SemanticKITTI: 4 values per point (x, y, z, remission 0-1), returns
    up to ~120 m; the defaults keep all of it and still catch 1e30."""
    rng = np.random.default_rng(3)
    radius = rng.uniform(2, 120, 2000)
    angle = rng.uniform(-np.pi, np.pi, 2000)
    scan = np.c_[radius * np.cos(angle), radius * np.sin(angle),
                 rng.uniform(-3, 3, 2000),
                 rng.uniform(0, 1, 2000)]
    scan[0, 3] = 1e30
    path = write_scan(osp.join(str(tmp_path), '000000.bin'), scan)
    load = TRANSFORMS.build(
        dict(
            type='LoadCheckedPointsFromFile',
            coord_type='LIDAR',
            load_dim=4,
            use_dim=4))
    points = load(dict(lidar_points=dict(lidar_path=path)))['points']
    np.testing.assert_allclose(points.tensor.numpy(), scan[1:], rtol=1e-6)


def test_max_bad_ratio_zero_rejects_any_bad_point(tmp_path):
    """For pipelines with per-point labels: nothing is dropped silently."""
    points = plain_scan()
    points[7, 0] = 1e30
    path = write_scan(osp.join(str(tmp_path), 'one.bin'), points)
    with pytest.raises(
            BadSampleError,
            match=r'one\.bin: 1 of 1000 points .*max_bad_ratio=0'):
        load_points_file(path, 5, 4, max_bad_ratio=0)
    assert len(load_points_file(path, 5, 4, max_bad_ratio=0.001)) == 999


@pytest.mark.parametrize('options,match', [
    (dict(coord_range=(-50, 50)), 'coord_range must be'),
    (dict(feature_range=[(0, 255), (0, 31)]),
     'feature_range has 2 entries for 1 feature columns'),
])
def test_malformed_range_options_fail_when_built(options, match):
    for loader in (dict(LOAD_T0,
                        use_dim=4), dict(type='LoadTemporalPoints',
                                         use_dim=4)):
        with pytest.raises(ValueError, match=match):
            TRANSFORMS.build(dict(loader, **options))
