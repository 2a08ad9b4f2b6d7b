# Copyright (c) HilDA authors. All rights reserved.
"""Throughput of the HilDA pre-training data pipeline, per transform.

What is timed and how: ``projects/HilDA/analysis/pipeline_speed.py``.

Examples:
    python tools/benchmarks/data_pipeline.py \
        configs/_base_/datasets/hilda_demo.py --num-samples 40
    python tools/benchmarks/data_pipeline.py \
        configs/_base_/datasets/hilda_nuscenes.py --real-frame
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet3d.registry import DATASETS
from mmdet3d.utils import register_all_modules
from mmengine.config import Config

import projects.HilDA.hilda  # noqa: F401
from projects.HilDA.analysis.pipeline_speed import (benchmark,
                                                    real_frame_overrides,
                                                    report)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config with a train_dataloader')
    parser.add_argument('--num-samples', type=int, default=20)
    parser.add_argument(
        '--real-frame',
        action='store_true',
        help='run on ../shared/data/nuscenes_mini_real (one keyframe, '
        'its neighbours fall back to itself)')
    parser.add_argument('--data-root', help='override the dataset data_root')
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
