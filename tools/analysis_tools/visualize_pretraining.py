# Copyright (c) HilDA authors. All rights reserved.
"""Draw what a HilDA pre-training checkpoint learned, on one sample.

Writes ``features_<index>.png`` (teacher feature maps next to the
student's point features mapped into teacher space by the distillation
heads, coloured by one PCA per level) and ``occupancy_<index>.png`` (the
diffusion head's DDIM-sampled BEV occupancy vs the target, with IoU).

Example:
    python tools/analysis_tools/visualize_pretraining.py \
        configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py \
        work_dirs/demo/iter_150.pth --out-dir work_dirs/vis \
        --split val --index 0
"""
import argparse
import os.path as osp
import sys

# Make `projects.HilDA.hilda` importable from any working directory, as
# tools/train.py does.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.HilDA.analysis.loading import (add_pretrainer_args,
                                             load_pretrainer_config)
from projects.HilDA.analysis.pretrain_vis import visualize_pretraining
from projects.HilDA.hilda.apis import run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pretrainer_args(parser)
    parser.add_argument('--out-dir', required=True, help='folder for the PNGs')
    parser.add_argument('--index', type=int, default=0, help='sample index')
    parser.add_argument(
        '--split',
        choices=['train', 'val'],
        default='train',
        help="dataset split: 'val' swaps 'train' for 'val' in the "
        "train_dataloader's ann_file name")
    parser.add_argument(
        '--num-inference-steps',
        type=int,
        default=20,
        help='DDIM steps of the occupancy sampling')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the augmentations, masks and sampling noise')
    parser.add_argument(
        '--all-cameras',
        action='store_true',
        help='draw every camera (default: the three front cameras)')
    parser.add_argument(
        '--pca-quantile',
        type=float,
        default=0.0,
        help='colour range from this quantile of the PCA projections to '
        '1 - it (0: min-max; 0.01 ignores outliers)')
    parser.add_argument(
        '--no-normalize',
        action='store_true',
        help='colour raw features instead of L2-normalised ones (the '
        'distillation losses ignore the norm)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_pretrainer_config(args)
    written = visualize_pretraining(
        cfg,
        args.checkpoint,
        args.out_dir,
        index=args.index,
        split=args.split,
        num_inference_steps=args.num_inference_steps,
        seed=args.seed,
        all_cameras=args.all_cameras,
        quantile=args.pca_quantile,
        normalize=not args.no_normalize,
        device=args.device)
    for path in written.values():
        print(f'wrote {path}')


if __name__ == '__main__':
    run_tool(main, 'visualize_pretraining.py')
