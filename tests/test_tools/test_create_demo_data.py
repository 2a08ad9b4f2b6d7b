# Copyright (c) HilDA authors. All rights reserved.
"""tools/create_demo_data.py and tools/analysis_tools/draw_projections.py
(library: projects/HilDA/analysis/projection_drawing.py)."""
import glob
import os.path as osp

import mmengine
import pytest

from projects.HilDA.analysis.projection_drawing import (DrawError,
                                                        draw_projections)
from tests.conftest import REPO_ROOT, load_tool

REAL_ROOT = osp.join(REPO_ROOT, '..', 'shared', 'data', 'nuscenes_mini_real')
REAL_INFO = osp.join(REAL_ROOT, 'n015-2018-07-24-11-22-45+0800.pkl')
CAMERAS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
           'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')


@pytest.fixture(scope='module')
def cli_root(tmp_path_factory):
    """A tiny set written through the command line: 3 scenes, 1 for val."""
    root = str(tmp_path_factory.mktemp('demo_cli'))
    load_tool('create_demo_data.py').main([
        '--out-dir', root, '--scenes', '3', '--frames', '2', '--seed', '1',
        '--img-size', '160', '96', '--val-scenes', '1', '--azimuth-steps',
        '300'
    ])
    return root


@pytest.fixture(scope='module')
def draw_tool():
    return load_tool('analysis_tools/draw_projections.py')


def test_cli_writes_nuscenes_layout_and_both_info_files(cli_root):
    train = mmengine.load(osp.join(cli_root, 'nuscenes_infos_train.pkl'))
    val = mmengine.load(osp.join(cli_root, 'nuscenes_infos_val.pkl'))
    assert len(train['data_list']) == 2 * 2 and len(val['data_list']) == 2
    assert [i['sample_idx'] for i in train['data_list']] == [0, 1, 2, 3]
    # The val scene is the last one and no scene is in both splits.
    assert not ({i['scene_token']
                 for i in train['data_list']}
                & {i['scene_token']
                   for i in val['data_list']})
    assert val['data_list'][0]['lidar_points']['lidar_path'].startswith(
        'n900-demo-seed1-scene0002')
    for info in train['data_list'] + val['data_list']:
        assert osp.isfile(
            osp.join(cli_root, 'samples', 'LIDAR_TOP',
                     info['lidar_points']['lidar_path']))
        assert osp.isfile(
            osp.join(cli_root, 'lidarseg', 'v1.0-demo',
                     info['pts_semantic_mask_path']))
        for cam in CAMERAS:
            assert osp.isfile(
                osp.join(cli_root, 'samples', cam,
                         info['images'][cam]['img_path']))
    assert len(glob.glob(osp.join(cli_root, 'samples', '*', '*'))) == \
        6 * (1 + len(CAMERAS))


def test_cli_rejects_more_val_scenes_than_scenes(tmp_path):
    with pytest.raises(SystemExit):
        load_tool('create_demo_data.py').main(
            ['--out-dir',
             str(tmp_path), '--scenes', '2', '--val-scenes', '3'])
    assert not glob.glob(str(tmp_path / '*'))


def test_real_info_boxes_count_as_the_demo_agents(tmp_path):
    """Agents with points moving faster than 0.2 m/s, per group; barriers
    count as boxes only; nuScenes' ignored label (-1), boxes without
    points and NaN (unknown) velocities as the devkit leaves them."""
    from projects.HilDA.demo_world import info_box_statistics
    categories = {'car': 0, 'pedestrian': 7, 'barrier': 9}
    boxes = [
        ('car', [3.0, 4.0], 5),  # moving
        ('car', [0.1, 0.0], 5),  # parked
        ('car', [9.0, 0.0], 0),  # no points: not counted
        ('pedestrian', [float('nan')] * 2, 2),  # unknown: still
        ('pedestrian', [0.0, 1.0], 1),  # walking
        ('barrier', [0.0, 0.0], 9),
    ]
    instances = [
        dict(bbox_label_3d=categories[name], velocity=v, num_lidar_pts=n)
        for name, v, n in boxes
    ] + [dict(bbox_label_3d=-1, velocity=[5.0, 0.0], num_lidar_pts=3)]
    path = str(tmp_path / 'real.pkl')
    mmengine.dump(
        dict(
            metainfo=dict(categories=categories),
            data_list=[dict(instances=instances)]), path)
    summary = info_box_statistics(path).summary()
    assert summary['agents'] == 4 and summary['boxes'] == 5
    assert summary['moving_agent_share'] == 0.5
    assert summary['moving_share_by_group']['vehicles'] == (0.5, 2)
    assert summary['moving_share_by_group']['pedestrians'] == (0.5, 2)
    assert summary['moving_box_share'] == 2 / 5


def test_cli_rejects_a_missing_comparison_file_before_generating(tmp_path):
    with pytest.raises(SystemExit):
        load_tool('create_demo_data.py').main([
            '--out-dir',
            str(tmp_path), '--compare-infos',
            str(tmp_path / 'nope.pkl')
        ])
    assert not glob.glob(str(tmp_path / '*'))


@pytest.mark.parametrize('color_by', ['depth', 'class', 'flow'])
def test_draw_projections_on_demo_set(cli_root, tmp_path, color_by):
    out = str(tmp_path / f'{color_by}.png')
    counts = draw_projections(
        osp.join(cli_root, 'nuscenes_infos_val.pkl'),
        cli_root,
        out,
        index=0,
        color_by=color_by,
        occlusion='depth_cells',
        occlusion_stride=8)
    assert set(counts) == set(CAMERAS)
    assert all(n > 50 for n in counts.values())
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_draw_bev_by_flow_on_demo_set(cli_root, draw_tool, tmp_path):
    out = str(tmp_path / 'bev.png')
    draw_tool.main([
        osp.join(cli_root, 'nuscenes_infos_val.pkl'), '--data-root', cli_root,
        '--color-by', 'flow', '--view', 'bev', '--out', out
    ])
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_flow_colouring_at_a_scene_end_is_a_clear_error(
        cli_root, draw_tool, tmp_path):
    # Index 1 is the val scene's last keyframe: no t+1, no flow.
    with pytest.raises(DrawError) as exc:
        draw_tool.main([
            osp.join(cli_root, 'nuscenes_infos_val.pkl'), '--data-root',
            cli_root, '--index', '1', '--color-by', 'flow', '--out',
            str(tmp_path / 'x.png')
        ])
    assert 'needs the demo ground truth' in str(exc.value)
    assert not osp.exists(tmp_path / 'x.png')


def real_frame():
    if not osp.isfile(REAL_INFO):
        pytest.skip('../shared/data/nuscenes_mini_real is absent')
    return REAL_INFO


def test_draw_projections_on_real_nuscenes_frame(draw_tool, tmp_path):
    info = real_frame()
    out = str(tmp_path / 'real.png')
    draw_tool.main([info, '--data-root', REAL_ROOT, '--out', out])
    assert osp.getsize(out) > 10000
    counts = draw_projections(info, REAL_ROOT, str(tmp_path / 'again.png'))
    # About 22k of the frame's 34,688 points lie in some camera.
    assert 15000 < sum(counts.values()) < 30000


def test_class_colouring_without_lidarseg_is_a_clear_error(
        draw_tool, tmp_path):
    info = real_frame()
    with pytest.raises(DrawError) as exc:
        draw_tool.main([
            info, '--data-root', REAL_ROOT, '--color-by', 'class', '--out',
            str(tmp_path / 'x.png')
        ])
    assert 'needs lidarseg labels' in str(exc.value)
    assert not osp.exists(tmp_path / 'x.png')
