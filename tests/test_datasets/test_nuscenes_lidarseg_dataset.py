# Copyright (c) HilDA authors. All rights reserved.
import json
import os.path as osp
import pickle

import numpy as np
import pytest
from mmdet3d.evaluation.metrics import SegMetric
from mmdet3d.registry import DATASETS

from projects.HilDA.hilda.datasets.info_format import InfoFileError
from projects.HilDA.hilda.datasets.nuscenes_lidarseg_dataset import (
    LIDARSEG_LEARNING_MAP, NUSCENES_LIDARSEG_CLASSES, SubsetFileError)
from tests.helpers.tiny_demo_world import tiny_demo_root

DEMO_CLASSES = [
    'car', 'pedestrian', 'driveable_surface', 'sidewalk', 'terrain', 'manmade',
    'vegetation'
]
PIPELINE = [
    dict(type='LoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
    dict(
        type='LoadAnnotations3D',
        with_bbox_3d=False,
        with_label_3d=False,
        with_seg_3d=True,
        seg_3d_dtype='np.uint8'),
    dict(type='PointSegClassMapping'),
    dict(type='Pack3DDetInputs', keys=['points', 'pts_semantic_mask'])
]


def build(ann_file='nuscenes_infos_train.pkl', **kwargs):
    return DATASETS.build(
        dict(
            type='NuScenesLidarSegDataset',
            data_root=tiny_demo_root(),
            ann_file=ann_file,
            data_prefix=dict(
                pts='samples/LIDAR_TOP',
                pts_semantic_mask='lidarseg/v1.0-demo'),
            pipeline=PIPELINE,
            **kwargs))


def raw_labels(dataset, idx):
    return np.fromfile(
        dataset.get_data_info(idx)['pts_semantic_mask_path'], np.uint8)


def test_standard_map_gives_16_classes_and_ignore():
    dataset = build()
    assert dataset.metainfo['classes'] == list(NUSCENES_LIDARSEG_CLASSES)
    assert dataset.ignore_index == 16
    mapping = dataset.seg_label_mapping
    named = {
        0: 16,  # noise
        2: NUSCENES_LIDARSEG_CLASSES.index('pedestrian'),
        15: NUSCENES_LIDARSEG_CLASSES.index('bus'),  # bendy
        16: NUSCENES_LIDARSEG_CLASSES.index('bus'),  # rigid
        17: NUSCENES_LIDARSEG_CLASSES.index('car'),
        24: NUSCENES_LIDARSEG_CLASSES.index('driveable_surface'),
        29: 16,  # static.other
        30: NUSCENES_LIDARSEG_CLASSES.index('vegetation'),
        31: 16,  # ego
    }
    for raw, label in named.items():
        assert mapping[raw] == label, raw
    # 16 classes are reached, each raw id maps to exactly its table entry
    assert sorted(set(mapping[:32]) - {16}) == list(range(16))
    assert all(mapping[k] == v for k, v in LIDARSEG_LEARNING_MAP.items())
    sample = dataset[0]
    mask = sample['data_samples'].gt_pts_seg.pts_semantic_mask.numpy()
    np.testing.assert_array_equal(mask, mapping[raw_labels(dataset, 0)])
    assert len(mask) == len(sample['inputs']['points'])


def test_class_subset_relabels_and_segmetric_scores_perfect_masks():
    dataset = build(
        'nuscenes_infos_val.pkl',
        metainfo=dict(classes=DEMO_CLASSES),
        test_mode=True)
    assert dataset.ignore_index == 7
    assert dataset.metainfo['label2cat'] == dict(enumerate(DEMO_CLASSES))
    car, road, noise = 17, 24, 0
    assert dataset.seg_label_mapping[car] == 0
    assert dataset.seg_label_mapping[road] == 2
    assert dataset.seg_label_mapping[noise] == 7
    assert dataset.seg_label_mapping[23] == 7  # truck: not in the subset
    metric = SegMetric()
    metric.dataset_meta = dataset.metainfo
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        gt = sample.eval_ann_info['pts_semantic_mask']
        assert set(np.unique(gt)) <= set(range(8))
        metric.process({}, [
            dict(
                eval_ann_info=sample.eval_ann_info,
                pred_pts_seg=dict(pts_semantic_mask=gt.copy()))
        ])
    results = metric.compute_metrics(metric.results)
    assert results['miou'] == pytest.approx(1.0)


def test_subset_file_of_tokens_or_indices_keeps_those_samples(tmp_path):
    with open(osp.join(tiny_demo_root(), 'nuscenes_infos_train.pkl'),
              'rb') as f:
        tokens = [d['token'] for d in pickle.load(f)['data_list']]
    split = tmp_path / 'split.json'
    split.write_text(json.dumps(dict(sample_tokens=[tokens[2], tokens[0]])))
    dataset = build(subset_file=str(split))
    assert [dataset.get_data_info(i)['token']
            for i in range(len(dataset))] == [tokens[0], tokens[2]]
    text = tmp_path / 'split.txt'
    text.write_text('# indices\n1\n')
    assert build(subset_file=str(text)).get_data_info(0)['token'] == \
        tokens[1]


def test_subset_token_missing_from_info_file_fails_naming_the_file(tmp_path):
    split = tmp_path / 'other.json'
    split.write_text(json.dumps(['not-a-token']))
    with pytest.raises(SubsetFileError, match='other.json.*not in'):
        build(subset_file=str(split))


def test_info_without_lidarseg_path_fails_clearly(tmp_path):
    with open(osp.join(tiny_demo_root(), 'nuscenes_infos_train.pkl'),
              'rb') as f:
        infos = pickle.load(f)
    for info in infos['data_list']:
        del info['pts_semantic_mask_path']
    path = tmp_path / 'no_lidarseg.pkl'
    with open(path, 'wb') as f:
        pickle.dump(infos, f)
    with pytest.raises(ValueError, match='no "pts_semantic_mask_path"'):
        build(str(path))


def demo_infos():
    with open(osp.join(tiny_demo_root(), 'nuscenes_infos_train.pkl'),
              'rb') as f:
        return pickle.load(f)


def test_truncated_info_file_names_the_file(tmp_path):
    with open(osp.join(tiny_demo_root(), 'nuscenes_infos_train.pkl'),
              'rb') as f:
        raw = f.read()
    path = tmp_path / 'cut.pkl'
    path.write_bytes(raw[:len(raw) // 3])
    with pytest.raises(InfoFileError,
                       match=r'cut\.pkl: truncated or corrupt file'):
        build(str(path))


def test_empty_data_list_names_the_file(tmp_path):
    infos = demo_infos()
    infos['data_list'] = []
    path = tmp_path / 'empty.pkl'
    path.write_bytes(pickle.dumps(infos))
    with pytest.raises(InfoFileError, match=r'empty\.pkl: data_list is empty'):
        build(str(path))


def test_missing_lidar_points_names_file_and_sample(tmp_path):
    infos = demo_infos()
    token = infos['data_list'][0]['token']
    del infos['data_list'][0]['lidar_points']
    path = tmp_path / 'nolidar.pkl'
    path.write_bytes(pickle.dumps(infos))
    with pytest.raises(InfoFileError,
                       match=rf'nolidar\.pkl: sample {token} has no '
                       '"lidar_points"'):
        build(str(path))
