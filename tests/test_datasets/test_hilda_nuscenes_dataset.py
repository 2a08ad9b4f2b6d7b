# Copyright (c) HilDA authors. All rights reserved.
import os.path as osp

import numpy as np
import pytest

from projects.HilDA.hilda.datasets import BadSampleError, InfoFileError
from tests.conftest import REAL_FRAME_INFO
from tests.helpers.synthetic_nuscenes import (LOAD_POINTS_5D, hilda_dataset,
                                              skip_bad_samples_dataset,
                                              write_sequence)

LOAD_T0 = LOAD_POINTS_5D


def test_real_keyframe_loads_and_about_20k_points_project(real_frame_root):
    dataset = hilda_dataset(
        real_frame_root,
        REAL_FRAME_INFO, [
            LOAD_T0,
            dict(type='LoadCheckedMultiViewImages', num_views=6),
            dict(type='ProjectPointsToImages'),
        ],
        temporal=False)
    sample = dataset[0]
    assert len(sample['points']) == 34688
    assert len(sample['img']) == 6
    assert sample['img'][0].shape == (900, 1600, 3)
    num_pairs = len(sample['pair_point_idx'])
    assert 18000 < num_pairs < 23000
    # Each point at most once; every pixel on its image.
    assert len(np.unique(sample['pair_point_idx'])) == num_pairs
    uv = sample['pair_uv']
    assert (uv >= 0).all() and (uv[:, 0] < 1600).all() and \
        (uv[:, 1] < 900).all()
    assert (sample['num_pairs_per_cam'] > 1000).all()


@pytest.mark.parametrize('occlusion', [
    dict(occlusion='free_space'),
    dict(occlusion='depth_cells', occlusion_stride=14),
])
def test_real_keyframe_occlusion_handling_keeps_fewer_points(
        real_frame_root, occlusion):
    pipeline = [
        LOAD_T0,
        dict(type='LoadCheckedMultiViewImages', num_views=6),
        dict(type='ProjectPointsToImages', **occlusion),
    ]
    occluded = hilda_dataset(
        real_frame_root, REAL_FRAME_INFO, pipeline, temporal=False)[0]
    pipeline[-1] = dict(type='ProjectPointsToImages', occlusion=None)
    plain = hilda_dataset(
        real_frame_root, REAL_FRAME_INFO, pipeline, temporal=False)[0]
    kept = len(occluded['pair_point_idx'])
    assert 0.5 * len(plain['pair_point_idx']) < kept < len(
        plain['pair_point_idx'])
    assert set(occluded['pair_point_idx']) <= set(plain['pair_point_idx'])


def test_neighbours_land_in_the_t0_frame(tmp_path):
    """A static world seen from a moving, turning car: t-1 and t+1 scans
    moved into the t0 frame coincide with the t0 scan point for point."""
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    dataset = hilda_dataset(
        tmp_path, info,
        [LOAD_T0, dict(type='LoadTemporalPoints', use_dim=5)])
    sample = dataset[1]
    t0 = sample['points'].tensor[:, :3].numpy()
    for key in ('points_prev', 'points_next'):
        np.testing.assert_allclose(
            sample[key].tensor[:, :3].numpy(), t0, atol=1e-3)
    assert not sample['temporal_fallback'].any()


def test_scene_ends_fall_back_to_t0(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    dataset = hilda_dataset(
        tmp_path, info,
        [LOAD_T0, dict(type='LoadTemporalPoints', use_dim=5)])
    first, last = dataset[0], dataset[2]
    assert first['temporal_fallback'].tolist() == [True, False]
    assert last['temporal_fallback'].tolist() == [False, True]
    np.testing.assert_array_equal(first['points_prev'].tensor,
                                  first['points'].tensor)
    assert dataset.missing_neighbours == 0


def test_masked_mode_loads_no_neighbours(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), num_frames=2)
    dataset = hilda_dataset(tmp_path, info, [LOAD_T0], temporal=False)
    sample = dataset[0]
    assert 'temporal' not in sample and 'points_prev' not in sample


def test_unknown_info_version_names_the_file(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), info_version='0.9')
    with pytest.raises(InfoFileError, match=r"infos\.pkl.*'0\.9'"):
        hilda_dataset(tmp_path, info, [])


def test_old_style_info_file_names_the_file(tmp_path):
    import mmengine
    path = osp.join(str(tmp_path), 'v1.pkl')
    mmengine.dump(dict(infos=[], metadata=dict(version='v1.0')), path)
    with pytest.raises(InfoFileError, match=r'v1\.pkl: not an mmdet3d info'):
        hilda_dataset(tmp_path, path, [])


def test_missing_info_file_is_named(tmp_path):
    with pytest.raises(InfoFileError, match='absent.pkl does not exist'):
        hilda_dataset(tmp_path, 'absent.pkl', [])


def edit_infos(info_path, edit):
    """Apply ``edit(content)`` to an info file in place."""
    import mmengine
    content = mmengine.load(info_path)
    edit(content)
    mmengine.dump(content, info_path)


def set_matrix(index, key, value):

    def edit(content):
        sample = content['data_list'][index]
        if key == 'lidar2ego':
            sample['lidar_points'][key] = value
        else:
            sample[key] = value

    return edit


def test_nan_in_neighbour_pose_names_neighbour_sample_and_key(tmp_path):
    """A NaN in the t+1 keyframe's ego2global used to turn every t+1
    point into NaN (seen only as a NaN loss)."""
    info, _, poses = write_sequence(str(tmp_path), num_frames=3)
    bad = poses[2].copy()
    bad[0, 3] = np.nan
    edit_infos(info, set_matrix(2, 'ego2global', bad.tolist()))
    dataset = hilda_dataset(tmp_path, info, [])
    dataset[0]  # does not touch frame 2
    with pytest.raises(
            BadSampleError,
            match=r'lidar_2\.bin: sample tok2 \(the next keyframe '
            r'of sample tok1\): ego2global has non-finite'):
        dataset[1]


def test_singular_lidar2ego_is_named_not_a_linalg_error(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), num_frames=2)
    singular = np.eye(4)
    singular[2, 2] = 0
    edit_infos(info, set_matrix(0, 'lidar2ego', singular.tolist()))
    dataset = hilda_dataset(tmp_path, info, [])
    with pytest.raises(
            BadSampleError,
            match=r'lidar_0\.bin: sample tok0: lidar2ego is not '
            r'a rigid transform .*det R = 0'):
        dataset[0]


def test_scaled_ego2global_is_not_rigid_but_float32_rounding_is(tmp_path):
    info, _, poses = write_sequence(str(tmp_path), num_frames=2)
    rounded = poses[1].astype(np.float32).astype(np.float64)
    edit_infos(info, set_matrix(1, 'ego2global', rounded.tolist()))
    assert len(hilda_dataset(tmp_path, info, [])[1]['temporal']) == 2
    scaled = poses[1] @ np.diag([1.01, 1, 1, 1])
    edit_infos(info, set_matrix(1, 'ego2global', scaled.tolist()))
    with pytest.raises(
            BadSampleError, match='tok1: ego2global is not a rigid transform'):
        hilda_dataset(tmp_path, info, [])[1]


def test_bad_pose_sample_is_skipped_with_skip_bad_samples(tmp_path):
    info, _, poses = write_sequence(str(tmp_path), num_frames=3)
    edit_infos(info, set_matrix(0, 'ego2global', np.zeros((4, 4)).tolist()))
    dataset = skip_bad_samples_dataset(tmp_path, info, [], max_skip_ratio=0.7)
    # Sample 0 and sample 1 (whose t-1 is sample 0) are replaced by 2.
    assert dataset[0]['token'] == 'tok2'
    assert sorted(dataset.bad) == [0, 1]


def test_real_keyframe_poses_pass_the_checks(real_frame_root):
    dataset = hilda_dataset(real_frame_root, REAL_FRAME_INFO, [])
    info = dataset[0]
    assert info['temporal']['prev']['is_fallback']
    np.testing.assert_allclose(
        info['temporal']['prev']['lidar2t0'], np.eye(4), atol=1e-9)


def test_truncated_info_file_names_the_file(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), num_frames=2)
    with open(info, 'rb') as f:
        raw = f.read()
    with open(info, 'wb') as f:
        f.write(raw[:len(raw) // 2])
    with pytest.raises(
            InfoFileError, match=r'infos\.pkl: truncated or corrupt file'):
        hilda_dataset(tmp_path, info, [])
    open(info, 'wb').close()
    with pytest.raises(
            InfoFileError, match=r'infos\.pkl: truncated or corrupt file'):
        hilda_dataset(tmp_path, info, [])


def test_empty_data_list_names_the_file(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), num_frames=2)
    edit_infos(info, lambda c: c.update(data_list=[]))
    with pytest.raises(InfoFileError, match=r'infos\.pkl: data_list is empty'):
        hilda_dataset(tmp_path, info, [])


def test_missing_lidar_points_names_file_and_sample(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), num_frames=2)
    edit_infos(info, lambda c: c['data_list'][1].pop('lidar_points'))
    with pytest.raises(
            InfoFileError,
            match=r'infos\.pkl: sample tok1 has no '
            r'"lidar_points"'):
        hilda_dataset(tmp_path, info, [])


def test_sample_with_five_of_six_cameras_names_file_and_sample(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    edit_infos(info,
               lambda c: c['data_list'][1]['images'].pop('CAM_BACK_LEFT'))
    with pytest.raises(
            InfoFileError,
            match=r"infos\.pkl: sample tok1 has 5 cameras "
            r"\(missing \['CAM_BACK_LEFT'\], extra none\) where "
            r'2 of 3 samples have 6'):
        hilda_dataset(tmp_path, info, [])
    # LiDAR-only use does not need the same cameras everywhere.
    lidar_only = hilda_dataset(
        tmp_path, info, [], modality=dict(use_lidar=True, use_camera=False))
    assert len(lidar_only) == 3
