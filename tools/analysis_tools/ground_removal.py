# Copyright (c) HilDA authors. All rights reserved.
"""Share of each scan a ground segmenter removes, and its time per scan.

Library code: ``projects/HilDA/hilda/evaluation/ground_removal.py``.

Example:
    python tools/analysis_tools/ground_removal.py data/hilda_demo \
        nuscenes_infos_val.pkl --labels lidarseg/v1.0-demo
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet3d.registry import TASK_UTILS  # noqa: E402

import projects.HilDA.hilda  # noqa: E402,F401  (registers the segmenters)
from projects.HilDA.hilda.apis import ConfigError, run_tool  # noqa: E402
from projects.HilDA.hilda.evaluation.ground_removal import \
    ground_removal_stats  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='folder of the info file')
    parser.add_argument('ann_file', help='info .pkl, relative to data_root')
    parser.add_argument(
        '--segmenter',
        default='PatchworkPPGroundSegmenter',
        help='registered segmenter type (TASK_UTILS)')
    parser.add_argument(
        '--labels',
        default=None,
        help='lidarseg folder under data_root, to score against labels')
    parser.add_argument(
        '--max-samples', type=int, default=None, help='first N samples')
    parser.add_argument(
        '--repeats', type=int, default=5, help='timed calls per scan')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    segmenter = TASK_UTILS.build(dict(type=args.segmenter))
    try:
        stats = ground_removal_stats(
            args.data_root,
            args.ann_file,
            segmenter,
            args.max_samples,
            label_prefix=args.labels,
            repeats=args.repeats)
    except KeyError as e:  # not an mmdet3d info file
        raise ConfigError(f'{osp.join(args.data_root, args.ann_file)}: no '
                          f'key {e}') from e
    print(' '.join(f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}'
                   for k, v in stats.items()))


if __name__ == '__main__':
    run_tool(main, 'ground_removal.py')
