# Copyright (c) HilDA authors. All rights reserved.
"""CPU time per scan of ground segmenters, measured interleaved.

Loads the t0 scans of one or more info files, then times every segmenter
on every scan, round after round, in this process's CPU time: on a machine
shared with other jobs the segmenters see the same load, so their ratios
hold even when the absolute times do not. The command line is
``tools/benchmarks/ground_segmenters.py``.
"""
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Tuple

import mmengine
import numpy as np

from ..hilda.evaluation.occlusion_accuracy import load_scan


def load_scans(data_root: str,
               ann_file: str,
               max_samples: Optional[int] = None,
               use_dim: int = 4) -> List[np.ndarray]:
    """The first ``max_samples`` t0 scans of an info file, (N, ``use_dim``)
    as the pipeline loads them (x, y, z, intensity)."""
    infos = mmengine.load(osp.join(data_root, ann_file))['data_list']
    return [
        load_scan(info, data_root)[:, :use_dim] for info in infos[:max_samples]
    ]


def cpu_times(data: Dict[str, List[np.ndarray]],
              segmenters: Dict[str, Callable],
              rounds: int = 5) -> Dict[Tuple[str, str], List[float]]:
    """Seconds of CPU per call, for every (segmenter, data set).

    Each segmenter runs once on a scan untimed (building it), then every
    round calls every segmenter on every scan in turn.

    Returns:
        dict: ``(segmenter name, data set name) -> [seconds per call]``.
    """
    for segmenter in segmenters.values():
        segmenter(next(iter(data.values()))[0])
    times = {(s, d): [] for s in segmenters for d in data}
    for _ in range(rounds):
        for name, segmenter in segmenters.items():
            for data_name, scans in data.items():
                for scan in scans:
                    start = time.process_time()
                    segmenter(scan)
                    times[name, data_name].append(time.process_time() - start)
    return times


def format_table(times: Dict[Tuple[str, str], List[float]],
                 reference: str) -> List[str]:
    """Markdown rows: per segmenter and data set, the median CPU ms per
    scan and its ratio to the ``reference`` segmenter's."""
    segmenters = list(dict.fromkeys(s for s, _ in times))
    data = list(dict.fromkeys(d for _, d in times))
    rows = [
        '| segmenter | ' + ' | '.join(f'{d}: CPU ms per scan | ratio'
                                      for d in data) + ' |',
        '|---|' + '---:|---:|' * len(data)
    ]
    for name in segmenters:
        cells = []
        for d in data:
            ms = 1e3 * float(np.median(times[name, d]))
            ref = 1e3 * float(np.median(times[reference, d]))
            cells.append(f'{ms:.2f} | {ms / ref:.2f}')
        rows.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return rows
