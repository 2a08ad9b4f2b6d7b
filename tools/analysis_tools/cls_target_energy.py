# Copyright (c) HilDA authors. All rights reserved.
"""Share of the teacher's CLS target energy that is the same in every scene.

Runs the config's pre-training pipeline over a split, takes the teacher's
CLS tokens (teacher-feature cache or live teacher) pooled over the cameras
as the config's global token pools them, and prints the scene-independent
share of their energy (library:
``projects/HilDA/analysis/cls_target_energy.py``).

Examples:
    # the demo teacher (EfficientNet-Lite0) through its feature cache
    python tools/analysis_tools/cls_target_energy.py \
        configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py
    # DINOv2 ViT-B/14 on real nuScenes (live teacher; a GPU helps)
    python tools/analysis_tools/cls_target_energy.py \
        configs/hilda/hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py \
        --num-samples 500 --device cuda --out work_dirs/cls_energy.json
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.HilDA.analysis.cls_target_energy import cls_target_energy
from projects.HilDA.hilda.apis import add_cfg_options, load_config, run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='pre-training config file')
    parser.add_argument(
        '--split',
        choices=['train', 'val'],
        default='train',
        help="'train' (default): the samples L_CLS trains on")
    parser.add_argument(
        '--num-samples',
        type=int,
        default=None,
        help='first N samples of the split (default: all)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--device', default='cpu', help='torch device')
    parser.add_argument('--out', help='JSON file to write (optional)')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    result = cls_target_energy(cfg, args.split, args.num_samples, args.seed,
                               args.device)
    print()
    print(f'{result["teacher"]} CLS scene descriptors, {args.split} '
          f'({result["num_samples"]} samples, {result["channels"]} '
          f'channels): {100 * result["share"]:.1f} % of the energy is '
          'scene-independent; 90 % of the between-scene variance lies in '
          f'{result["share_channels_90"]} channels')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    run_tool(main, 'cls_target_energy.py')
