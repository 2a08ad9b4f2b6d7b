# Copyright (c) HilDA authors. All rights reserved.
import json
import os.path as osp
import pickle
import subprocess
import sys

import pytest
from mmdet3d.registry import DATASETS

import projects.HilDA.hilda.datasets.nuscenes_lidarseg_dataset  # noqa: F401
from tests.conftest import REPO_ROOT, load_tool
from tests.helpers.tiny_demo_world import tiny_demo_root

TOOL = osp.join(REPO_ROOT, 'tools', 'create_label_efficient_splits.py')
PERCENTS = [1, 5, 10, 25, 100]


@pytest.fixture(scope='module')
def info_file(tmp_path_factory):
    """600 samples in 30 scenes of 20 (only tokens matter to the tool)."""
    data_list = [
        dict(token=f'sample{i:04d}', scene_token=f'scene{i // 20:02d}')
        for i in range(600)
    ]
    path = tmp_path_factory.mktemp('infos') / 'nuscenes_infos_train.pkl'
    with open(path, 'wb') as f:
        pickle.dump(
            dict(metainfo=dict(info_version='1.1'), data_list=data_list), f)
    return str(path)


def tokens(path):
    with open(path) as f:
        return json.load(f)['sample_tokens']


def test_cli_writes_the_same_files_every_time(info_file, tmp_path):
    outputs = []
    for run in ('a', 'b'):
        out_dir = tmp_path / run
        result = subprocess.run([
            sys.executable, TOOL, info_file, '--percents', *map(str, PERCENTS),
            '--seed', '0', '--out-dir',
            str(out_dir)
        ],
                                capture_output=True,
                                text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        outputs.append(
            {p.name: p.read_bytes()
             for p in sorted(out_dir.iterdir())})
    assert outputs[0] == outputs[1]
    assert sorted(outputs[0]) == sorted(
        f'nuscenes_infos_train_{p}pct_seed0.json' for p in PERCENTS)


def test_splits_are_nested_sized_and_independent_of_info_order(
        info_file, tmp_path):
    tool = load_tool('create_label_efficient_splits.py')
    paths = tool.create_splits(info_file, PERCENTS, str(tmp_path / 'a'))
    sets = [set(tokens(paths[p])) for p in PERCENTS]
    assert [len(s) for s in sets] == [6, 30, 60, 150, 600]
    assert all(small < large for small, large in zip(sets, sets[1:]))
    # reversed info file: the same samples are chosen
    with open(info_file, 'rb') as f:
        infos = pickle.load(f)
    infos['data_list'].reverse()
    reversed_file = str(tmp_path / 'reversed.pkl')
    with open(reversed_file, 'wb') as f:
        pickle.dump(infos, f)
    again = tool.create_splits(reversed_file, [10], str(tmp_path / 'b'))
    assert set(tokens(again[10])) == sets[2]
    # another seed, another 10 %
    other = tool.create_splits(info_file, [10], str(tmp_path / 'c'), seed=1)
    assert set(tokens(other[10])) != sets[2]


def test_scene_unit_takes_whole_scenes_nested(info_file, tmp_path):
    tool = load_tool('create_label_efficient_splits.py')
    paths = tool.create_splits(
        info_file, [5, 10, 25], str(tmp_path), unit='scene')
    scenes = []
    for percent in (5, 10, 25):
        with open(paths[percent]) as f:
            split = json.load(f)
        chosen = {t[len('sample'):] for t in split['sample_tokens']}
        scene_ids = {int(t) // 20 for t in chosen}
        # whole scenes only, at least p % of the samples
        assert len(chosen) == 20 * len(scene_ids) >= percent * 6
        assert split['num_scenes'] == len(scene_ids)
        scenes.append(scene_ids)
    assert scenes[0] <= scenes[1] <= scenes[2]


def test_dataset_reads_a_written_split():
    root = tiny_demo_root()
    tool = load_tool('create_label_efficient_splits.py')
    path = tool.create_splits(
        osp.join(root, 'nuscenes_infos_train.pkl'), [50],
        osp.join(root, 'splits'))[50]
    dataset = DATASETS.build(
        dict(
            type='NuScenesLidarSegDataset',
            data_root=root,
            ann_file='nuscenes_infos_train.pkl',
            subset_file='splits/' + osp.basename(path),
            data_prefix=dict(
                pts='samples/LIDAR_TOP',
                pts_semantic_mask='lidarseg/v1.0-demo')))
    assert len(dataset) == 2  # ceil(50 % of 3)
    assert {dataset.get_data_info(i)['token']
            for i in range(len(dataset))} == set(tokens(path))
