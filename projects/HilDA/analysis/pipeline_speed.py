# Copyright (c) HilDA authors. All rights reserved.
"""Throughput of the HilDA pre-training data pipeline, per transform.

Builds the dataset of a config's ``train_dataloader`` and runs its pipeline
sample by sample in this process (no workers: the number is per CPU core;
multiply by ``num_workers`` for a loader that keeps up). Prints samples/s
and each step's share of the time, with ``get_data_info`` (info parsing
and neighbour lookup) as the first step.

The command line is ``tools/benchmarks/data_pipeline.py``.
"""
import os.path as osp
import time
from collections import defaultdict

import numpy as np

# The one real nuScenes keyframe beside the repository (../shared/data).
REAL_FRAME = osp.join(
    osp.dirname(osp.abspath(__file__)), '..', '..', '..', '..', 'shared',
    'data', 'nuscenes_mini_real')


def real_frame_overrides(dataset_cfg):
    """Point a nuScenes dataset config at the single real keyframe."""
    dataset_cfg.data_root = REAL_FRAME
    dataset_cfg.ann_file = 'n015-2018-07-24-11-22-45+0800.pkl'
    # Replace (not merge) the prefixes: the frame's files are side by side.
    dataset_cfg.data_prefix = dict(pts='', img='')
    return dataset_cfg


def benchmark(dataset, num_samples, warmup=2):
    """Time every pipeline step over ``num_samples`` samples.

    Returns:
        tuple[float, dict[str, float]]: samples per second and the seconds
        spent in each step in total.
    """
    steps = dataset.pipeline.transforms
    times = defaultdict(float)
    indices = np.arange(num_samples + warmup) % len(dataset)
    start = None
    for n, idx in enumerate(indices):
        if n == warmup:
            times.clear()
            start = time.perf_counter()
        t = time.perf_counter()
        results = dataset.get_data_info(int(idx))
        times['get_data_info'] += time.perf_counter() - t
        for step in steps:
            t = time.perf_counter()
            results = step(results)
            times[type(step).__name__] += time.perf_counter() - t
    total = time.perf_counter() - start
    return num_samples / total, dict(times)


def report(name, rate, times):
    total = sum(times.values())
    print(f'\n{name}: {rate:.2f} samples/s '
          f'({1000 / rate:.1f} ms per sample, one process)')
    for step, seconds in times.items():
        print(f'  {step:<28s} {100 * seconds / total:5.1f} %')
