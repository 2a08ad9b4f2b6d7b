# Copyright (c) HilDA authors. All rights reserved.
"""Throughput of the HilDA pre-training data pipeline, per transform.

Builds the dataset of a config's ``train_dataloader`` and runs its pipeline
sample by sample in this process (no workers: the number is per CPU core;
multiply by ``num_workers`` for a loader that keeps up). Prints samples/s
and each step's share of the time, with ``get_data_info`` (info parsing
and neighbour lookup) as the first step.

Examples:
    python tools/benchmarks/data_pipeline.py \
        configs/_base_/datasets/hilda_demo.py --num-samples 40
    python tools/benchmarks/data_pipeline.py \
        configs/_base_/datasets/hilda_nuscenes.py --real-frame
"""
import argparse
import os.path as osp
import sys
import time
from collections import defaultdict

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

import numpy as np
from mmdet3d.registry import DATASETS
from mmdet3d.utils import register_all_modules
from mmengine.config import Config

import projects.HilDA.hilda  # noqa: F401

REAL_FRAME = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), '..',
    'shared', 'data', 'nuscenes_mini_real')


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config with a train_dataloader')
    parser.add_argument('--num-samples', type=int, default=20)
    parser.add_argument(
        '--real-frame',
        action='store_true',
        help='run on ../shared/data/nuscenes_mini_real (one keyframe, '
        'its neighbours fall back to itself)')
    parser.add_argument(
        '--data-root', help='override the dataset data_root')
    args = parser.parse_args()

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    dataset_cfg = cfg.train_dataloader.dataset
    name = osp.basename(args.config)
    if args.real_frame:
        dataset_cfg = real_frame_overrides(dataset_cfg)
        name += ' on the real nuScenes keyframe'
    elif args.data_root:
        dataset_cfg.data_root = args.data_root
    dataset = DATASETS.build(dataset_cfg)
    rate, times = benchmark(dataset, args.num_samples)
    report(name, rate, times)


if __name__ == '__main__':
    main()
