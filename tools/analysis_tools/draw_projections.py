# Copyright (c) HilDA authors. All rights reserved.
"""Draw a sample's LiDAR points projected onto its six camera images (or
the scan from above), to check calibration and point-pixel
correspondences. The library is ``projects/HilDA/analysis/
projection_drawing.py``; its docstring says what the pictures show.

Example:
    python tools/analysis_tools/draw_projections.py \
        data/hilda_demo/nuscenes_infos_val.pkl --data-root data/hilda_demo \
        --color-by class --occlusion depth_cells --occlusion-stride 8 \
        --out work_dirs/proj.png
    python tools/analysis_tools/draw_projections.py \
        data/hilda_demo/nuscenes_infos_val.pkl --data-root data/hilda_demo \
        --color-by flow --view bev --out work_dirs/flow.png
"""
import argparse
import os.path as osp
import sys

# Make `projects.HilDA` importable from any working directory, as
# tools/train.py does.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.HilDA.analysis import projection_drawing  # noqa: E402
from projects.HilDA.hilda.apis import run_tool  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('info_file', help='nuScenes-format info .pkl')
    parser.add_argument(
        '--data-root',
        required=True,
        help='folder the info file paths are relative to')
    parser.add_argument('--index', type=int, default=0, help='sample index')
    parser.add_argument(
        '--color-by',
        choices=['depth', 'class', 'flow', 'none'],
        default='depth',
        help='point colours (flow: demo world ground truth; none: the '
        'images only)')
    parser.add_argument(
        '--view',
        choices=['cameras', 'bev'],
        default='cameras',
        help='the six camera images, or the scan from above')
    parser.add_argument(
        '--occlusion',
        choices=['none', 'depth_cells'],
        default='none',
        help='occlusion test of the drawn pairs')
    parser.add_argument(
        '--occlusion-stride',
        type=int,
        default=None,
        help='cell size (px) of --occlusion depth_cells (default 14)')
    parser.add_argument('--dpi', type=int, default=None, help='PNG dpi')
    parser.add_argument(
        '--colors',
        type=int,
        default=None,
        help='quantise the PNG to this many colours (smaller files)')
    parser.add_argument('--out', required=True, help='output PNG')
    args = parser.parse_args(argv)
    if args.occlusion_stride is not None and args.occlusion != 'depth_cells':
        parser.error('--occlusion-stride sizes the cells of --occlusion '
                     'depth_cells')
    return args


def main(argv=None):
    args = parse_args(argv)
    common = dict(
        info_file=args.info_file,
        data_root=args.data_root,
        out=args.out,
        index=args.index,
        color_by=args.color_by,
        colors=args.colors)
    if args.view == 'bev':
        counts = projection_drawing.draw_bev(**common, dpi=args.dpi or 90)
        drawn = counts['points']
    else:
        counts = projection_drawing.draw_projections(
            **common,
            occlusion=None if args.occlusion == 'none' else args.occlusion,
            occlusion_stride=args.occlusion_stride,
            dpi=args.dpi or 100)
        drawn = sum(counts.values())
    print(f'wrote {args.out} ({drawn} points drawn)')


if __name__ == '__main__':
    run_tool(main, 'draw_projections.py')
