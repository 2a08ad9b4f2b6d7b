# Copyright (c) HilDA authors. All rights reserved.
import glob
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from projects.HilDA.hilda.apis import apply_skip_bad_samples
from projects.HilDA.hilda.datasets.transforms.loading import BadSampleError
from tests.helpers.reliability import tiny_dataset_cfg, tiny_runner_cfg

NUM_FRAMES = 12
TRUNCATED, MISSING_IMG, NAN_SCAN = 'lidar_1.bin', 'CAM_BACK_6.png', \
    'lidar_11.bin'


def corrupt(root):
    """A truncated scan, a missing image and an all-NaN scan."""
    path = osp.join(root, TRUNCATED)
    raw = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(raw[:len(raw) // 2 + 6])  # not a whole number of points
    os.remove(osp.join(root, MISSING_IMG))
    nan = np.full((500, 5), np.nan, dtype=np.float32)
    nan.tofile(osp.join(root, NAN_SCAN))


@pytest.fixture
def bad_data(tmp_path):
    root = tmp_path / 'data'
    dataset = tiny_dataset_cfg(root, num_frames=NUM_FRAMES)
    corrupt(str(root))
    return dataset


def read_log(work_dir):
    return open(glob.glob(osp.join(work_dir, '*', '*.log'))[0]).read()


@pytest.mark.parametrize('num_workers', [0, 1])
def test_skip_bad_samples_trains_to_the_end(tmp_path, bad_data, num_workers):
    """skip_bad_samples=True (through the config helper train.py calls):
    one epoch over 12 samples, 6 of them unreadable (the truncated scan is
    also t-1/t+1 of its neighbours), trains all 6 iterations; each bad file
    is logged once with its reason and the final count is 3 files (also
    when a dataloader worker does the loading)."""
    cfg = Config(
        tiny_runner_cfg(
            None,
            tmp_path / 'work',
            max_iters=6,
            dataset=bad_data,
            skip_bad_samples=True,
            skip_bad_samples_cfg=dict(max_skip_ratio=0.6)))
    cfg.train_dataloader.num_workers = num_workers
    cfg = apply_skip_bad_samples(cfg)
    assert cfg.train_dataloader.dataset.type == 'SkipBadSamplesDataset'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 6
    log = read_log(str(tmp_path / 'work'))
    reasons = {
        TRUNCATED: 'is not a whole number of points',
        MISSING_IMG: 'image file does not exist',
        NAN_SCAN: 'has no (finite) points',
    }
    for name, reason in reasons.items():
        logged = [
            line for line in log.splitlines()
            if 'skipping bad sample' in line and name in line
        ]
        assert len(logged) == 1, (name, logged)
        assert reason in logged[0]
    assert 'skipped 3 bad sample files' in log
    hook = [
        h for h in runner.hooks if type(h).__name__ == 'BadSampleSummaryHook'
    ][0]
    assert sorted(osp.basename(p) for p in hook.bad) == sorted(reasons)
    if num_workers == 0:  # the main process's copy did the loading
        dataset = runner.train_dataloader.dataset
        assert sorted(dataset.bad) == [0, 1, 2, 6, 10, 11]


def test_without_skipping_the_first_bad_sample_stops_the_run(
        tmp_path, bad_data):
    cfg = Config(
        tiny_runner_cfg(
            None, tmp_path / 'work', max_iters=6, dataset=bad_data))
    assert apply_skip_bad_samples(cfg) is cfg  # default off: unchanged
    assert cfg.train_dataloader.dataset.type == 'HilDANuScenesDataset'
    runner = Runner.from_cfg(cfg)
    with pytest.raises(BadSampleError) as err:
        runner.train()
    assert any(
        name in str(err.value)
        for name in (TRUNCATED, MISSING_IMG, NAN_SCAN)), err.value


def test_too_many_bad_samples_is_an_error(tmp_path, bad_data):
    from mmdet3d.registry import DATASETS
    dataset = DATASETS.build(
        dict(
            type='SkipBadSamplesDataset', dataset=bad_data,
            max_skip_ratio=0.1))
    dataset[3]  # fine
    dataset[6]  # one bad of 12 (0.083) is tolerated, the next one not
    with pytest.raises(BadSampleError, match='max_skip_ratio=0.1'):
        dataset[10]
