# Copyright (c) HilDA authors. All rights reserved.
import os.path as osp
import shutil

import mmengine
import numpy as np
import pytest

from projects.HilDA.hilda.apis import ConfigError
from projects.HilDA.hilda.evaluation.occlusion_accuracy import (
    OcclusionGTError, evaluate_infos, format_table)
from tests.conftest import REAL_FRAME_INFO, REAL_FRAME_ROOT, load_tool
from tests.helpers.tiny_demo_world import TINY_DEMO, tiny_demo_root

# The tiny demo LiDAR turns in 400 steps: one range-image column each.
FREE_SPACE = dict(
    occlusion='free_space',
    free_space=dict(azimuth_bins=TINY_DEMO['num_azimuth']))


def recalls(counts):
    return (counts['visible_kept'].sum() / counts['visible'].sum(),
            counts['occluded_dropped'].sum() / counts['occluded'].sum())


@pytest.fixture(scope='module')
def free_space_counts():
    return evaluate_infos(tiny_demo_root(), 'nuscenes_infos_train.pkl',
                          FREE_SPACE)


def test_counts_split_the_pairs_in_images(free_space_counts):
    c = free_space_counts
    np.testing.assert_array_equal(c['visible'] + c['occluded'], c['in_image'])
    np.testing.assert_array_equal(
        c['visible_kept'] + c['occluded'] - c['occluded_dropped'], c['kept'])
    assert c['occluded'].sum() > 50


def test_free_space_beats_the_depth_cells_on_ray_cast_truth(free_space_counts):
    kept_visible, dropped_occluded = recalls(free_space_counts)
    cells = recalls(
        evaluate_infos(tiny_demo_root(), 'nuscenes_infos_train.pkl',
                       dict(occlusion='depth_cells', occlusion_stride=14)))
    # The tiny LiDAR's 0.9 degree columns blur edges: lower bars than the
    # demo's 1084 columns (docs/evidence.md); the depth cells keep a third.
    assert kept_visible > 0.8 and dropped_occluded > 0.75
    assert kept_visible > cells[0] + 0.3


def test_ground_truth_of_another_scan_is_named(tmp_path):
    root = str(tmp_path / 'demo')
    shutil.copytree(tiny_demo_root(), root)
    infos = mmengine.load(osp.join(root, 'nuscenes_infos_val.pkl'))
    info = infos['data_list'][0]
    path = osp.join(root, info['demo_gt_path'])
    with np.load(path) as gt:
        arrays = dict(gt)
    arrays['cam_visible'] = arrays['cam_visible'][:-1]
    np.savez(path, **arrays)
    with pytest.raises(OcclusionGTError, match=info['demo_gt_path']):
        evaluate_infos(root, 'nuscenes_infos_val.pkl', FREE_SPACE)


@pytest.mark.skipif(
    not osp.isdir(REAL_FRAME_ROOT), reason='../shared data absent')
def test_real_keyframe_counts_without_ground_truth():
    counts = evaluate_infos(REAL_FRAME_ROOT, REAL_FRAME_INFO,
                            dict(occlusion='free_space'))
    assert counts['visible'].sum() == 0
    assert 0.8 * counts['in_image'].sum() < counts['kept'].sum()
    rows = format_table(counts)
    assert rows[0].startswith('| camera depth') and len(rows) == 7


def test_tool_prints_the_table(capsys):
    load_tool('analysis_tools/occlusion_accuracy.py').main([
        tiny_demo_root(), 'nuscenes_infos_val.pkl', '--azimuth-bins',
        str(TINY_DEMO['num_azimuth']), '--max-samples', '1'
    ])
    out = capsys.readouterr().out
    assert 'occluded dropped' in out and '| all |' in out


def tool_table(capsys, *args):
    load_tool('analysis_tools/occlusion_accuracy.py').main([
        tiny_demo_root(), 'nuscenes_infos_val.pkl', '--azimuth-bins',
        str(TINY_DEMO['num_azimuth']), '--max-samples', '1', *args
    ])
    out = capsys.readouterr().out.splitlines()
    return out[0], out[1:]


def test_tool_ground_options_reach_the_segmenter(capsys):
    header, plane = tool_table(capsys)
    assert 'PlaneFitGroundSegmenter(sensor_height=1.84' in header
    _, no_ground = tool_table(capsys, '--ground', 'none')
    assert plane != no_ground
    # Nothing within 0 m is ground: the table of no ground at all.
    header, empty = tool_table(capsys, '--ground-options', 'max_range=0')
    assert 'max_range=0' in header and empty == no_ground


def test_tool_refuses_ground_options_the_segmenter_lacks():
    tool = load_tool('analysis_tools/occlusion_accuracy.py')
    with pytest.raises(ConfigError, match='--ground-options: .*not_an_arg'):
        tool.main([
            tiny_demo_root(), 'nuscenes_infos_val.pkl', '--ground-options',
            'not_an_arg=1'
        ])
