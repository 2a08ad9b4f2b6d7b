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
pipeline's time as a multiple of it. Each time is taken twice: wall clock
and this process's CPU time; on a machine shared with other jobs the CPU
time is what one dedicated core would take (the rate a DataLoader worker
with a core of its own reaches), the wall clock includes the waits.

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


def benchmark(dataset, num_samples, warmup=2, cpu_times=None):
    """Time every pipeline step over ``num_samples`` samples, and reading
    each sample's files, interleaved.

    Args:
        dataset: A built dataset with a ``pipeline``.
        num_samples (int): Samples timed (after ``warmup`` untimed ones).
        warmup (int): Samples run first and not timed (imports, compiled
            kernels loaded).
        cpu_times (dict, optional): Filled like the returned times with
            this process's CPU seconds (``time.process_time``).

    Returns:
        tuple[float, dict[str, float]]: samples per second of the pipeline
        and the wall-clock seconds spent in each step in total, with the
        file reads under :data:`READ_FILES` (not part of the pipeline's
        rate).
    """
    # As in a DataLoader worker, which runs torch on one thread (more
    # threads per process only fight the other workers).
    torch.set_num_threads(1)
    steps = dataset.pipeline.transforms
    times: Dict[str, float] = defaultdict(float)
    cpu: Dict[str, float] = defaultdict(float)

    def timed(name, fn, *args):
        wall, proc = time.perf_counter(), time.process_time()
        out = fn(*args)
        times[name] += time.perf_counter() - wall
        cpu[name] += time.process_time() - proc
        return out

    indices = np.arange(num_samples + warmup) % len(dataset)
    for n, idx in enumerate(indices):
        if n == warmup:
            times.clear()
            cpu.clear()
        results = timed('get_data_info', dataset.get_data_info, int(idx))
        files = sample_files(results)
        for step in steps:
            results = timed(type(step).__name__, step, results)
        timed(READ_FILES, read_files, *files)
    if cpu_times is not None:
        cpu_times.update(cpu)
    total = sum(v for k, v in times.items() if k != READ_FILES)
    return num_samples / total, dict(times)


def report(name, rate, times, cpu_times=None):
    """Print the rate, each step's share and the pipeline / read ratio,
    in wall-clock time and, given ``cpu_times``, in CPU time."""
    read = times.get(READ_FILES, 0.0)
    steps = {k: v for k, v in times.items() if k != READ_FILES}
    total = sum(steps.values())
    num = total * rate
    cpu = cpu_times or {}
    cpu_total = sum(v for k, v in cpu.items() if k != READ_FILES)
    print(f'\n{name}: {rate:.2f} samples/s '
          f'({1000 / rate:.1f} ms per sample, one process, wall clock)')
    if cpu_total:
        print(f'  CPU time: {1000 * cpu_total / num:.1f} ms per sample '
              f'= {num / cpu_total:.2f} samples per CPU-second')
    header = '  step' + ' ' * 26 + 'wall' + ('     CPU' if cpu_total else '')
    print(header)
    for step, seconds in steps.items():
        line = f'  {step:<28s} {100 * seconds / total:5.1f} %'
        if cpu_total:
            line += f'  {100 * cpu.get(step, 0.0) / cpu_total:5.1f} %'
        print(line)
    if read:
        line = (f'  {READ_FILES}: {1000 * read / num:.1f} ms per sample; '
                f'pipeline / read = {total / read:.1f}x')
        if cpu.get(READ_FILES):
            line += (f' (CPU time: {1000 * cpu[READ_FILES] / num:.1f} ms, '
                     f'{cpu_total / cpu[READ_FILES]:.1f}x)')
        print(line)


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
