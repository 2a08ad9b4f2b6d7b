# Copyright (c) HilDA authors. All rights reserved.
"""The pipeline's cheaper fixed costs give the samples of the old code:
each test compares with the old way of computing the same thing."""
import copy

import cv2
import numpy as np
import pytest
import torch
from mmdet3d.registry import DATASETS, TRANSFORMS
from mmengine.dataset import BaseDataset

from projects.HilDA.hilda.apis import load_config
from projects.HilDA.hilda.datasets.transforms.formatting import \
    stack_channels_first
from projects.HilDA.hilda.datasets.transforms.loading import (
    DEFAULT_COORD_RANGE, DEFAULT_FEATURE_RANGE, load_points_file,
    value_outliers)
from tests.helpers.synthetic_nuscenes import build_dataset
from tests.helpers.tiny_demo_world import tiny_demo_root

DEMO_CONFIG = 'configs/_base_/datasets/hilda_demo.py'


def rows_kept_the_old_way(points, use_dim):
    """The rows load_points_file kept before (masks over every value)."""
    non_finite = ~np.isfinite(points[:, use_dim]).all(1)
    with np.errstate(invalid='ignore'):
        out_of_range = value_outliers(points, use_dim, DEFAULT_COORD_RANGE,
                                      DEFAULT_FEATURE_RANGE) & ~non_finite
    return points[~(non_finite | out_of_range)][:, use_dim]


@pytest.mark.parametrize('case', [
    'clean', 'nan_in_unused_column', 'nan_in_x', 'inf_intensity', 'far_point',
    'nan_and_far_in_one_column'
])
def test_scan_loading_keeps_the_rows_of_the_row_by_row_checks(tmp_path, case):
    rng = np.random.default_rng(0)
    points = rng.uniform(-60, 60, size=(2000, 5)).astype(np.float32)
    points[:, 3] = rng.uniform(0, 255, size=2000)
    if case == 'nan_in_unused_column':
        points[5, 4] = np.nan
    elif case == 'nan_in_x':
        points[7, 0] = np.nan
    elif case == 'inf_intensity':
        points[9, 3] = np.inf
    elif case == 'far_point':
        points[11, 1] = 700.0
    elif case == 'nan_and_far_in_one_column':
        points[3, 2], points[4, 2] = np.nan, -300.0
    path = str(tmp_path / 'scan.bin')
    points.tofile(path)
    got = load_points_file(path, 5, [0, 1, 2, 3])
    expected = rows_kept_the_old_way(points, [0, 1, 2, 3])
    assert got.flags.c_contiguous and got.dtype == np.float32
    assert np.array_equal(got, expected)


def augment_the_old_way(aug, img):
    """MultiViewImageAug._augment as it was (numpy's mirrored copy)."""
    out_h, out_w = aug.final_size
    h, w = img.shape[:2]
    base = max(out_w / w, out_h / h)
    scale = base * np.random.uniform(*aug.resize_range)
    new_w = max(int(round(w * scale)), out_w)
    new_h = max(int(round(h * scale)), out_h)
    img = cv2.resize(img, (new_w, new_h), interpolation=aug.interpolation)
    x0 = np.random.randint(0, new_w - out_w + 1)
    y0 = np.random.randint(0, new_h - out_h + 1)
    img = img[y0:y0 + out_h, x0:x0 + out_w]
    if np.random.rand() < aug.flip_ratio:
        img = img[:, ::-1]
    return np.ascontiguousarray(img)


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_flipped_images_equal_numpys_mirrored_copy(dtype):
    aug = TRANSFORMS.build(
        dict(
            type='MultiViewImageAug',
            final_size=(64, 96),
            resize_range=(1.0, 1.15),
            flip_ratio=1.0))
    rng = np.random.default_rng(0)
    imgs = [
        rng.integers(0, 256, size=(90, 160, 3)).astype(dtype) for _ in range(3)
    ]
    np.random.seed(3)
    expected = [augment_the_old_way(aug, img) for img in imgs]
    np.random.seed(3)
    results = aug(
        dict(
            img=list(imgs),
            cam2img=np.tile(np.eye(4), (3, 1, 1)),
            lidar2cam=np.tile(np.eye(4), (3, 1, 1))))
    for got, want in zip(results['img'], expected):
        assert got.flags.c_contiguous
        assert np.array_equal(got, want)


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_packed_images_equal_mmdet3ds_stack_and_permute(dtype):
    rng = np.random.default_rng(0)
    imgs = [
        rng.integers(0, 256, size=(24, 40, 3)).astype(dtype) for _ in range(6)
    ]
    expected = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1,
                                                        2).contiguous()
    got = stack_channels_first(imgs)
    assert got.dtype == expected.dtype and got.is_contiguous()
    assert torch.equal(got, expected)


def test_neighbour_links_equal_those_of_the_whole_infos(tmp_path):
    dataset = build_dataset(tmp_path, [], num_frames=4)
    old = copy.copy(dataset)
    old._link_cache = {}
    # The old way: every neighbour's whole info unpickled for each read.
    old._link_fields = lambda idx: BaseDataset.get_data_info(old, idx)
    for _ in range(2):  # the second time from the parsed fields
        for idx in range(len(dataset)):
            got = dataset.get_data_info(idx)['temporal']
            expected = old.get_data_info(idx)['temporal']
            assert got.keys() == expected.keys()
            for key in got:
                assert got[key].keys() == expected[key].keys()
                for name, value in got[key].items():
                    assert np.array_equal(value, expected[key][name])


def test_cache_fingerprint_of_the_loaded_calibration_is_the_infos(demo):
    dataset, steps = demo
    results = run(dataset, steps, 1, 'MultiViewImageAug')
    project = steps['ProjectPointsToImages']
    given = project.fingerprints(results)
    del results['info_calibration']
    assert project.fingerprints(results) == given  # checked from the info


# --- The t0 ground mask where t+1 falls back to t0 ---------------------------


PATCHWORK = dict(type='PatchworkPPGroundSegmenter', sensor_height=1.84)


def build_demo(t0_ground=None):
    """The tiny demo world's train split with the demo pipeline, the
    occlusion test's t0 ground replaced by ``t0_ground`` if given."""
    cfg = load_config(DEMO_CONFIG, require_plugin=False)
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.data_root = tiny_demo_root() + '/'
    if t0_ground is not None:
        for step in dataset_cfg.pipeline:
            if step['type'] == 'ProjectPointsToImages':
                step['ground_segmenter'] = t0_ground
    dataset = DATASETS.build(dataset_cfg)
    steps = {type(t).__name__: t for t in dataset.pipeline.transforms}
    return dataset, steps


@pytest.fixture(scope='module')
def demo():
    """The demo pipeline with Patchwork++ as the t0 ground as well (the
    target's segmenter, so that its mask can be reused); the scene's last
    keyframe (index 2) has no t+1."""
    return build_demo(PATCHWORK)


def run(dataset, steps, idx, upto, seed=0):
    np.random.seed(seed)
    results = dataset.get_data_info(idx)
    for name, step in steps.items():
        results = step(results)
        if name == upto:
            return results


def test_t0_ground_is_reused_only_where_t_plus_1_is_t0(demo):
    dataset, steps = demo
    target = steps['BEVOccupancyTarget']
    assert not dataset.get_data_info(0)['temporal']['next']['is_fallback']
    fallback = dataset.get_data_info(2)['temporal']['next']
    assert fallback['is_fallback']
    middle = run(dataset, steps, 0, 'ConsistentPointAug')
    assert target.t0_ground(middle) is None  # another scan: segmented
    last = run(dataset, steps, 2, 'ConsistentPointAug')
    assert target.t0_ground(last) is last['t0_ground']['mask']
    # A t+1 scan changed after the projection (a point dropped) is not
    # the scan the mask was made for.
    points = last['points_next']
    last['points_next'] = points[np.arange(len(points)) != 5]
    assert target.t0_ground(last) is None


def test_config_target_segments_its_own_ground_after_a_plane_fit_t0():
    # The configs' occlusion test fits a plane; the paper's target keeps
    # Patchwork++, so a t+1 that falls back to t0 is segmented again.
    dataset, steps = build_demo()
    target = steps['BEVOccupancyTarget']
    last = run(dataset, steps, 2, 'ConsistentPointAug')
    assert type(last['t0_ground']['segmenter']).__name__ == \
        'PlaneFitGroundSegmenter'
    assert type(target.ground_segmenter).__name__ == \
        'PatchworkPPGroundSegmenter'
    assert target.t0_ground(last) is None
    assert 0 < target(last)['occ_ground_fraction'] < 1


def test_t0_ground_needs_the_same_segmenter_settings(demo):
    dataset, steps = demo
    last = run(dataset, steps, 2, 'ConsistentPointAug')
    other = TRANSFORMS.build(
        dict(
            type='BEVOccupancyTarget',
            ground_segmenter=dict(
                type='PatchworkPPGroundSegmenter', sensor_height=1.5)))
    assert other.t0_ground(last) is None


def test_reused_ground_gives_the_target_of_segmenting_t_plus_1_again(demo):
    dataset, steps = demo
    # Without the point augmentation the segmenter sees the very same
    # coordinates either way (with it, the old way segmented them after a
    # float32 round trip through the augmentation and back).
    without_aug = {k: v for k, v in steps.items() if k != 'ConsistentPointAug'}
    results = run(dataset, without_aug, 2, 'ProjectPointsToImages')
    again = dict(results)
    del again['t0_ground']
    target = steps['BEVOccupancyTarget']
    reused = target(dict(results))
    assert target.t0_ground(results) is not None
    segmented = target(again)
    assert 0 < segmented['occ_ground_fraction'] < 1
    assert reused['occ_ground_fraction'] == segmented['occ_ground_fraction']
    assert np.array_equal(reused['occ_target'], segmented['occ_target'])


def test_masked_target_reuses_the_t0_ground(demo):
    dataset, steps = demo
    masked = TRANSFORMS.build(
        dict(
            type='BEVOccupancyTarget',
            source_key='points',
            ground_segmenter=PATCHWORK))
    results = run(dataset, steps, 0, 'ConsistentPointAug')
    assert masked.t0_ground(results) is results['t0_ground']['mask']
