# Copyright (c) HilDA authors. All rights reserved.
import os
import os.path as osp

import numpy as np
import pytest
from mmdet3d.registry import DATASETS
from mmengine.config import Config

from projects.HilDA.hilda.datasets.visibility_cache import VisibilityCacheError
from tests.conftest import REPO_ROOT, load_tool
from tests.helpers.synthetic_nuscenes import write_sequence


def sequence_config(tmp_path):
    """A three-frame synthetic sequence and a demo config reading it."""
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(
        f"_base_ = ['{REPO_ROOT}/configs/_base_/datasets/hilda_demo.py']\n"
        'train_dataloader = dict(dataset=dict(\n'
        f"    data_root='{tmp_path}', ann_file='{info}',\n"
        "    data_prefix=dict(_delete_=True, pts='', img='')))\n")
    return cfg_file


def project_step(dataset_cfg):
    """The config's ``ProjectPointsToImages`` (the settings the tool
    caches with)."""
    return next(t for t in dataset_cfg.pipeline
                if t['type'] == 'ProjectPointsToImages')


def test_tool_caches_every_sample_and_the_pipeline_reads_it(tmp_path, capsys):
    cfg_file = sequence_config(tmp_path)
    out = str(tmp_path / 'vis')
    tool = load_tool('cache_visibility.py')
    tool.main([str(cfg_file), '--out-dir', out])
    assert len(os.listdir(osp.join(out, 'samples'))) == 3
    tool.main([str(cfg_file), '--out-dir', out])
    assert '0 samples written, 3 already up to date' in capsys.readouterr().out
    # Online and cached pairs of the loading steps plus the projection.
    cfg = Config.fromfile(str(cfg_file)).train_dataloader.dataset
    project = project_step(cfg)
    pairs = []
    for step in (project, dict(project, visibility_cache=out)):
        cfg.pipeline = cfg.pipeline[:3] + [step]
        pairs.append(DATASETS.build(cfg)[1]['pair_point_idx'])
    assert len(pairs[0]) > 100
    np.testing.assert_array_equal(pairs[0], pairs[1])


def test_stored_next_ground_equals_the_online_one_and_is_checked(tmp_path):
    cfg_file = sequence_config(tmp_path)
    out = str(tmp_path / 'vis')
    load_tool('cache_visibility.py').main([str(cfg_file), '--out-dir', out])
    cfg = Config.fromfile(str(cfg_file)).train_dataloader.dataset
    occupancy = next(t for t in cfg.pipeline
                     if t['type'] == 'BEVOccupancyTarget')
    project = project_step(cfg)
    runs = []
    for step in (project, dict(project, visibility_cache=out)):
        # No augmentation: online and stored masks see the same points.
        cfg.pipeline = cfg.pipeline[:3] + [step, occupancy]
        runs.append(DATASETS.build(cfg)[0])
    online, cached = runs
    assert 'cached_next_ground' not in online
    assert cached['cached_next_ground']['mask'].any()
    assert 0 < online['occ_ground_fraction'] < 1
    assert online['occ_ground_fraction'] == cached['occ_ground_fraction']
    np.testing.assert_array_equal(online['occ_target'], cached['occ_target'])
    # Other ground settings in the target: refused, naming the file.
    other = dict(
        occupancy,
        ground_segmenter=dict(
            type='PatchworkPPGroundSegmenter', sensor_height=1.5))
    cfg.pipeline = cfg.pipeline[:4] + [other]
    path = osp.join(out, 'samples', 'tok0.npz')
    with pytest.raises(VisibilityCacheError, match=f'{path}: .*ground'):
        DATASETS.build(cfg)[0]
    # Another t+1 scan (frame 1's file changed): the whole file is stale.
    scan = tmp_path / 'lidar_1.bin'
    points = np.fromfile(scan, np.float32)
    points[0] += 0.5
    points.tofile(scan)
    with pytest.raises(VisibilityCacheError, match=f'{path}: stale .*t\\+1'):
        DATASETS.build(cfg)[0]


def test_cache_made_with_another_t0_ground_is_refused(tmp_path):
    """The dataset configs' t0 ground (the plane fit) is in the settings
    key: a pipeline whose occlusion test uses Patchwork++ refuses it."""
    cfg_file = sequence_config(tmp_path)
    out = str(tmp_path / 'vis')
    load_tool('cache_visibility.py').main([str(cfg_file), '--out-dir', out])
    cfg = Config.fromfile(str(cfg_file)).train_dataloader.dataset
    project = project_step(cfg)
    assert project['ground_segmenter']['type'] == 'PlaneFitGroundSegmenter'
    loading = cfg.pipeline[:3]
    cfg.pipeline = loading + [dict(project, visibility_cache=out)]
    assert len(DATASETS.build(cfg)[0]['pair_point_idx']) > 100
    other = dict(
        project,
        visibility_cache=out,
        ground_segmenter=dict(type='PatchworkPPGroundSegmenter'))
    cfg.pipeline = loading + [other]
    path = osp.join(out, 'samples', 'tok0.npz')
    with pytest.raises(
            VisibilityCacheError, match=f'{path}: .*occlusion settings'):
        DATASETS.build(cfg)[0]
