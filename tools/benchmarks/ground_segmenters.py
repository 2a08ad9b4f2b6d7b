# Copyright (c) HilDA authors. All rights reserved.
"""CPU time per scan of the named ground segmenters, interleaved.

The names are those of ``tools/analysis_tools/occlusion_accuracy.py
--ground``; ratios are to the first. Library code:
``projects/HilDA/analysis/ground_speed.py``.

Example:
    python tools/benchmarks/ground_segmenters.py \
        data/hilda_demo nuscenes_infos_val.pkl \
        --ground patchworkpp plane_fit
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet3d.registry import TASK_UTILS  # noqa: E402

import projects.HilDA.hilda  # noqa: E402,F401  (registers the segmenters)
from projects.HilDA.analysis.ground_speed import cpu_times  # noqa: E402
from projects.HilDA.analysis.ground_speed import format_table, load_scans
from projects.HilDA.hilda.apis import run_tool  # noqa: E402
from projects.HilDA.hilda.evaluation.occlusion_accuracy import \
    GROUND_SEGMENTERS  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'data',
        nargs='+',
        help='DATA_ROOT ANN_FILE pairs: the info files whose t0 scans are '
        'timed')
    parser.add_argument(
        '--ground',
        nargs='+',
        choices=list(GROUND_SEGMENTERS),
        default=list(GROUND_SEGMENTERS),
        help='segmenters to time; ratios are to the first')
    parser.add_argument(
        '--rounds', type=int, default=5, help='calls per scan each')
    parser.add_argument(
        '--max-samples', type=int, default=None, help='first N per file')
    args = parser.parse_args(argv)
    if len(args.data) % 2:
        parser.error('data: expected DATA_ROOT ANN_FILE pairs, got '
                     f'{len(args.data)} values')
    return args


def main(argv=None):
    args = parse_args(argv)
    data = {}
    for root, ann_file in zip(args.data[::2], args.data[1::2]):
        data[osp.join(root, ann_file)] = load_scans(root, ann_file,
                                                    args.max_samples)
    segmenters = {
        name: TASK_UTILS.build(GROUND_SEGMENTERS[name])
        for name in args.ground
    }
    times = cpu_times(data, segmenters, args.rounds)
    print(', '.join(f'{name}: {len(scans)} scans'
                    for name, scans in data.items()) +
          f', {args.rounds} rounds')
    print('\n'.join(format_table(times, args.ground[0])))


if __name__ == '__main__':
    run_tool(main, 'ground_segmenters.py')
