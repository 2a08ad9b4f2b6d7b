# Copyright (c) HilDA authors. All rights reserved.
"""Cost of a HilDA pre-training step, by part, against a plain student step.

What is timed and how: ``projects/HilDA/analysis/pretrain_speed.py``.

Example:
    python tools/benchmarks/pretrain_speed.py \
        configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py
    # PTv3's step against MinkUNet's, in the same rounds:
    python tools/benchmarks/pretrain_speed.py \
        configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py \
        --compare \
        configs/hilda/hilda_ptv3-demo-effnetlite0_1xb2-150iter_demo.py
"""
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet3d.utils import register_all_modules

from projects.HilDA.analysis.pretrain_speed import (pretrain_speed,
                                                    step_benchmark_parser)
from projects.HilDA.hilda.apis import load_config, run_tool


def main():
    parser = step_benchmark_parser(__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument(
        '--real-frame',
        action='store_true',
        help='batch of the real nuScenes keyframe in ../shared/data '
        '(repeated; it has no neighbours, so t-1/t+1 fall back to t0)')
    parser.add_argument(
        '--compare',
        metavar='CONFIG',
        help='a second pre-training config (e.g. another student) whose '
        'cached HilDA step and plain student step run in the same rounds '
        '(--cfg-options apply to both)')
    args = parser.parse_args()

    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.cfg_options)
    compare = (
        load_config(args.compare, args.cfg_options) if args.compare else None)
    pretrain_speed(
        cfg,
        osp.basename(args.config),
        iters=args.iters,
        batch_size=args.batch_size,
        device=args.device,
        amp=args.amp,
        real_frame=args.real_frame,
        compare=compare,
        compare_title=osp.basename(args.compare or ''))


if __name__ == '__main__':
    run_tool(main, 'pretrain_speed.py')
