# Copyright (c) HilDA authors. All rights reserved.
"""Temporal links checked per sample: same scene, strictly increasing
timestamps within a gap, plausible ego motion, not the sample itself
(issue 30, item 2)."""
import mmengine
import numpy as np
import pytest

from projects.HilDA.hilda.datasets import BadSampleError
from projects.HilDA.hilda.datasets.hilda_nuscenes_dataset import link_problem
from tests.helpers.synthetic_nuscenes import hilda_dataset, write_sequence


def edited_sequence(tmp_path, edit):
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    content = mmengine.load(info)
    edit(content['data_list'])
    mmengine.dump(content, info)
    return info


def swap_prev_next(samples):
    samples[1]['prev'], samples[1]['next'] = 'tok2', 'tok0'


def prev_in_other_scene(samples):
    samples[0]['scene_token'] = 'scene9'


def prev_far_in_time(samples):
    samples[0]['timestamp'] = samples[1]['timestamp'] - 1200.0


def prev_is_itself(samples):
    samples[1]['prev'] = 'tok1'


def prev_48m_away(samples):
    pose = np.asarray(samples[0]['ego2global'])
    pose[0, 3] -= 48.0
    samples[0]['ego2global'] = pose.tolist()


@pytest.mark.parametrize('edit, problem', [
    (swap_prev_next, 'prev keyframe tok2 has timestamp 1.0, not before'),
    (prev_in_other_scene, 'prev keyframe tok0 is in scene scene9'),
    (prev_far_in_time, 'prev keyframe tok0 is 1.2e\\+03 s away'),
    (prev_is_itself, 'prev keyframe is the sample itself'),
    (prev_48m_away, 'prev keyframe tok0 is 50.* m away in 0.5 s'),
])
def test_bad_link_is_an_error_naming_sample_and_problem(
        tmp_path, edit, problem):
    info = edited_sequence(tmp_path, edit)
    dataset = hilda_dataset(tmp_path, info, [])
    with pytest.raises(
            BadSampleError, match=f'infos.pkl: sample tok1: '
            f'{problem}'):
        dataset.get_data_info(1)


def test_good_links_pass(tmp_path):
    info = edited_sequence(tmp_path, lambda samples: None)
    dataset = hilda_dataset(tmp_path, info, [])
    for i in range(3):
        dataset.get_data_info(i)
    assert dataset.bad_links == 0


def test_fallback_uses_t0_and_counts(tmp_path):
    info = edited_sequence(tmp_path, prev_in_other_scene)
    dataset = hilda_dataset(
        tmp_path, info, [], temporal_checks=dict(bad_link='fallback'))
    temporal = dataset.get_data_info(1)['temporal']
    assert temporal['prev']['is_fallback'] and temporal['prev']['token'] \
        == 'tok1'
    assert not temporal['next']['is_fallback']
    assert dataset.bad_links == 1


def test_limits_are_configurable(tmp_path):
    info = edited_sequence(tmp_path, lambda samples: None)
    strict = hilda_dataset(
        tmp_path, info, [], temporal_checks=dict(max_ego_speed=1.0))
    with pytest.raises(BadSampleError, match='max_ego_speed=1.0'):
        strict.get_data_info(1)
    with pytest.raises(ValueError, match='temporal_checks takes'):
        hilda_dataset(tmp_path, info, [], temporal_checks=dict(max_gap=1))


def test_link_problem_without_timestamps_checks_scene_and_identity():
    t0 = dict(token='a', scene_token='s')
    assert link_problem(t0, dict(token='b', scene_token='s'), 'next', 2.0,
                        50.0) is None
    assert 'itself' in link_problem(t0, dict(token='a'), 'next', 2.0, 50.0)
