# Copyright (c) HilDA authors. All rights reserved.
"""Does the diffusion objective learn from the student? Numbers on val.

On held-out samples (the val infos next to the config's train infos):
the denoiser's clean-sample error at fixed noise levels with the true
condition vs another sample's, sampled (DDIM and DDPM) BEV occupancy IoU
against the t+1 target next to the all-occupied and t0-carried
baselines, the gradient norm each loss term sends into the student's
last stage, and each term's share of the parameter gradient of the
student's last stage and of the whole student (the table
``LossGradNormHook`` logs as ``gradshare_*``). Writes a JSON and prints
markdown tables (library:
``projects/HilDA/analysis/diffusion_diagnostics.py``).

Example:
    python tools/analysis_tools/diffusion_diagnostics.py \
        configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py \
        work_dirs/demo/iter_150.pth --out work_dirs/demo/diffusion_diag.json
"""
import argparse
import json
import os
import os.path as osp
import sys

# Make `projects.HilDA.hilda` importable from any working directory, as
# tools/train.py does.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.HilDA.analysis.diffusion_diagnostics import (
    diffusion_diagnostics, markdown_table)
from projects.HilDA.analysis.loading import (add_pretrainer_args,
                                             load_pretrainer_config)
from projects.HilDA.hilda.apis import run_tool
from projects.HilDA.hilda.models.heads import ReverseDiffusionSampler


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pretrainer_args(parser)
    parser.add_argument('--out', required=True, help='JSON file to write')
    parser.add_argument(
        '--split',
        choices=['train', 'val'],
        default='val',
        help="'val' (default) swaps 'train' for 'val' in the "
        "train_dataloader's ann_file name")
    parser.add_argument(
        '--num-samples',
        type=int,
        default=None,
        help='first N samples of the split (default: all)')
    parser.add_argument(
        '--timesteps',
        type=int,
        nargs='+',
        default=[100, 300, 600],
        help='noise levels of the clean-sample error')
    parser.add_argument(
        '--num-inference-steps',
        type=int,
        default=20,
        help='reverse steps of each sampler')
    parser.add_argument(
        '--samplers',
        nargs='+',
        choices=list(ReverseDiffusionSampler.SCHEDULERS),
        default=list(ReverseDiffusionSampler.SCHEDULERS),
        help='DDIM (deterministic) and/or DDPM (ancestral) sampling')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_pretrainer_config(args)
    result = diffusion_diagnostics(
        cfg,
        args.checkpoint,
        split=args.split,
        num_samples=args.num_samples,
        timesteps=args.timesteps,
        num_inference_steps=args.num_inference_steps,
        seed=args.seed,
        device=args.device,
        samplers=args.samplers)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f, indent=2)
    print()
    print(markdown_table(result))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    run_tool(main, 'diffusion_diagnostics.py')
