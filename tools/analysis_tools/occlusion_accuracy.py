# Copyright (c) HilDA authors. All rights reserved.
"""Measure the point-pixel occlusion test against ray-cast visibility.

On demo-world infos (each sample's ``demo_gt_path`` holds ``cam_visible``)
it prints, per camera-depth band, the share of visible (point, camera)
pairs the test keeps and of occluded pairs it drops; on other infos (a
real keyframe) the pairs inside images and the pairs kept. Library code:
``projects/HilDA/hilda/evaluation/occlusion_accuracy.py``.

Example:
    python tools/analysis_tools/occlusion_accuracy.py data/hilda_demo \
        nuscenes_infos_val.pkl --occlusion free_space
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet3d.registry import TASK_UTILS  # noqa: E402

import projects.HilDA.hilda  # noqa: E402,F401  (registers the segmenters)
from projects.HilDA.hilda.evaluation.occlusion_accuracy import (  # noqa
    OcclusionGTError, evaluate_infos, format_table)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='folder of the info file')
    parser.add_argument('ann_file', help='info .pkl, relative to data_root')
    parser.add_argument(
        '--occlusion',
        choices=['free_space', 'depth_cells', 'none'],
        default='free_space',
        help='occlusion test (ProjectPointsToImages(occlusion=...))')
    parser.add_argument(
        '--occlusion-stride',
        type=int,
        default=14,
        help="cell size (px) of 'depth_cells'")
    parser.add_argument(
        '--ground',
        choices=['patchworkpp', 'none'],
        default='patchworkpp',
        help="ground segmentation used by 'free_space'")
    parser.add_argument(
        '--max-samples', type=int, default=None, help='first N samples')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    occlusion = None if args.occlusion == 'none' else args.occlusion
    cfg = dict(occlusion=occlusion, occlusion_stride=args.occlusion_stride)
    segmenter = None
    if occlusion == 'free_space' and args.ground == 'patchworkpp':
        segmenter = TASK_UTILS.build(dict(type='PatchworkPPGroundSegmenter'))
    start = time.perf_counter()
    try:
        counts = evaluate_infos(args.data_root, args.ann_file, cfg, segmenter,
                                args.max_samples)
    except (OcclusionGTError, FileNotFoundError, KeyError) as e:
        sys.exit(f'occlusion_accuracy.py: error: {e}')
    print(f'occlusion={args.occlusion} ground={args.ground} '
          f'({time.perf_counter() - start:.1f} s)')
    print('\n'.join(format_table(counts)))


if __name__ == '__main__':
    main()
