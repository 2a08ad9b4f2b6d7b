# Copyright (c) HilDA authors. All rights reserved.
"""Throughput of the HilDA pre-training data pipeline, per transform.

What is timed and how: ``projects/HilDA/analysis/pipeline_speed.py``.

Examples:
    python tools/benchmarks/data_pipeline.py \
        configs/_base_/datasets/hilda_demo.py --num-samples 40
    python tools/benchmarks/data_pipeline.py \
        configs/_base_/datasets/hilda_nuscenes.py --real-frame
    python tools/benchmarks/data_pipeline.py \
        configs/_base_/datasets/hilda_demo.py \
        --cfg-options train_dataloader.dataset.pipeline.4.occlusion=None
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet3d.registry import DATASETS  # noqa: E402
from mmdet3d.utils import register_all_modules  # noqa: E402

import projects.HilDA.hilda  # noqa: E402,F401
from projects.HilDA.analysis.pipeline_speed import benchmark  # noqa: E402
from projects.HilDA.analysis.pipeline_speed import (loader_rate,
                                                    real_frame_overrides,
                                                    report)
from projects.HilDA.hilda.apis import CheckedDictAction  # noqa: E402
from projects.HilDA.hilda.apis import load_config, run_tool  # noqa: E402

PROG = 'data_pipeline.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config with a train_dataloader')
    parser.add_argument('--num-samples', type=int, default=20)
    parser.add_argument(
        '--real-frame',
        action='store_true',
        help='run on ../shared/data/nuscenes_mini_real (one keyframe, '
        'its neighbours fall back to itself)')
    parser.add_argument('--data-root', help='override the dataset data_root')
    parser.add_argument(
        '--num-workers',
        type=int,
        nargs='+',
        help='also time the config\'s DataLoader with these numbers of '
        'workers (samples/s through workers, prefetch and collate)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CheckedDictAction,
        default={},
        help='override settings of the config, key=value (mmengine '
        'DictAction syntax)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    # Dataset base configs do not import the plugin themselves.
    cfg = load_config(args.config, args.cfg_options, require_plugin=False)
    dataset_cfg = cfg.train_dataloader.dataset
    name = osp.basename(args.config)
    if args.real_frame:
        dataset_cfg = real_frame_overrides(dataset_cfg)
        name += ' on the real nuScenes keyframe'
    elif args.data_root:
        dataset_cfg.data_root = args.data_root
    dataset = DATASETS.build(dataset_cfg)
    cpu_times = {}
    rate, times = benchmark(dataset, args.num_samples, cpu_times=cpu_times)
    report(name, rate, times, cpu_times)
    for workers in args.num_workers or []:
        loader_cfg = cfg.train_dataloader.copy()
        loader_cfg.update(dataset=dataset, num_workers=workers)
        if workers == 0:  # torch refuses these without workers
            loader_cfg.update(persistent_workers=False, prefetch_factor=None)
        print(f'  DataLoader, num_workers={workers}: '
              f'{loader_rate(loader_cfg, args.num_samples):.2f} samples/s')


if __name__ == '__main__':
    run_tool(main, PROG)
