# Copyright (c) HilDA authors. All rights reserved.
import os.path as osp

import numpy as np
import pytest

from projects.HilDA.hilda.datasets import InfoFileError
from tests.conftest import REAL_FRAME_INFO
from tests.helpers.synthetic_nuscenes import hilda_dataset, write_sequence

LOAD_T0 = dict(
    type='LoadCheckedPointsFromFile',
    coord_type='LIDAR',
    load_dim=5,
    use_dim=5)


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


def test_real_keyframe_occlusion_handling_keeps_fewer_points(
        real_frame_root):
    pipeline = [
        LOAD_T0,
        dict(type='LoadCheckedMultiViewImages', num_views=6),
        dict(type='ProjectPointsToImages', occlusion_stride=14),
    ]
    occluded = hilda_dataset(
        real_frame_root, REAL_FRAME_INFO, pipeline, temporal=False)[0]
    pipeline[-1] = dict(type='ProjectPointsToImages')
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
