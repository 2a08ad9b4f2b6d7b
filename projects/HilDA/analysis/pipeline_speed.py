# Copyright (c) HilDA authors. All rights reserved.
"""Throughput of the HilDA pre-training data pipeline, per transform.

Builds the dataset of a config's ``train_dataloader`` and runs its pipeline
sample by sample in this process, with torch on one thread as in a
DataLoader worker (the number is per worker and CPU core; multiply by
``num_workers`` for a loader that keeps up). Prints samples/s
and each step's share of the time, with ``get_data_info`` (info parsing
and neighbour lookup) as the first step. Interleaved with every sample it
times merely reading that sample's files (every scan with numpy, every
image with OpenCV), the floor any pipeline pays, and reports the
pipeline's time as a multiple of it.

The command line is ``tools/benchmarks/data_pipeline.py``.
"""
import os.path as osp
import time
from collections import defaultdict
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch

# The one real nuScenes keyframe beside the repository (../shared/data).
REAL_FRAME = osp.join(
    osp.dirname(osp.abspath(__file__)), '..', '..', '..', '..', 'shared',
    'data', 'nuscenes_mini_real')
READ_FILES = 'read files (baseline)'


def real_frame_overrides(dataset_cfg):
    """Point a nuScenes dataset config at the single real keyframe."""
    dataset_cfg.data_root = REAL_FRAME
    dataset_cfg.ann_file = 'n015-2018-07-24-11-22-45+0800.pkl'
    # Replace (not merge) the prefixes: the frame's files are side by side.
    dataset_cfg.data_prefix = dict(pts='', img='')
    return dataset_cfg


def sample_files(info: dict) -> Tuple[List[str], List[str]]:
    """(scan files, image files) of a parsed sample: t0, its temporal
    neighbours (each once) and every camera image."""
    scans = [info['lidar_points']['lidar_path']]
    for neighbour in (info.get('temporal') or {}).values():
        scans.append(neighbour['lidar_path'])
    images = [cam['img_path'] for cam in (info.get('images') or {}).values()]
    return scans, images


def read_files(scans: List[str], images: List[str]) -> None:
    """Read the scans with numpy and decode the images with OpenCV."""
    for path in scans:
        np.fromfile(path, dtype=np.float32)
    for path in images:
        cv2.imread(path)


def benchmark(dataset, num_samples, warmup=2):
    """Time every pipeline step over ``num_samples`` samples, and reading
    each sample's files, interleaved.

    Returns:
        tuple[float, dict[str, float]]: samples per second of the pipeline
        and the seconds spent in each step in total, with the file reads
        under :data:`READ_FILES` (not part of the pipeline's rate).
    """
    # As in a DataLoader worker, which runs torch on one thread (more
    # threads per process only fight the other workers).
    torch.set_num_threads(1)
    steps = dataset.pipeline.transforms
    times: Dict[str, float] = defaultdict(float)
    indices = np.arange(num_samples + warmup) % len(dataset)
    for n, idx in enumerate(indices):
        if n == warmup:
            times.clear()
        t = time.perf_counter()
        results = dataset.get_data_info(int(idx))
        times['get_data_info'] += time.perf_counter() - t
        files = sample_files(results)
        for step in steps:
            t = time.perf_counter()
            results = step(results)
            times[type(step).__name__] += time.perf_counter() - t
        t = time.perf_counter()
        read_files(*files)
        times[READ_FILES] += time.perf_counter() - t
    total = sum(v for k, v in times.items() if k != READ_FILES)
    return num_samples / total, dict(times)


def report(name, rate, times):
    """Print the rate, each step's share and the pipeline / read ratio."""
    read = times.get(READ_FILES, 0.0)
    steps = {k: v for k, v in times.items() if k != READ_FILES}
    total = sum(steps.values())
    print(f'\n{name}: {rate:.2f} samples/s '
          f'({1000 / rate:.1f} ms per sample, one process)')
    for step, seconds in steps.items():
        print(f'  {step:<28s} {100 * seconds / total:5.1f} %')
    if read:
        num = total * rate
        print(f'  {READ_FILES}: {1000 * read / num:.1f} ms per sample; '
              f'pipeline / read = {total / read:.1f}x')


def loader_rate(dataloader_cfg, num_samples: int, warmup: int = 1) -> float:
    """Samples per second through the config's own DataLoader (its
    workers, prefetching and collate), after ``warmup`` batches (worker
    start-up) are taken."""
    from mmengine.runner import Runner
    loader = Runner.build_dataloader(dataloader_cfg, seed=0)
    batches = iter(loader)
    for _ in range(warmup):
        next(batches)
    start, seen = time.perf_counter(), 0
    while seen < num_samples:
        try:
            seen += len(next(batches)['inputs'])
        except StopIteration:
            batches = iter(loader)
    return seen / (time.perf_counter() - start)
