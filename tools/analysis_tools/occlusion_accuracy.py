# Copyright (c) HilDA authors. All rights reserved.
"""Measure the point-pixel occlusion test against ray-cast visibility.

On demo-world infos (each sample's ``demo_gt_path`` holds ``cam_visible``)
it prints, per camera-depth band, the share of visible (point, camera)
pairs the test keeps and of occluded pairs it drops; on other infos (a
real keyframe) the pairs inside images and the pairs kept. Library code:
``projects/HilDA/hilda/evaluation/occlusion_accuracy.py``.

Example:
    python tools/analysis_tools/occlusion_accuracy.py data/hilda_demo \
        nuscenes_infos_val.pkl --occlusion free_space --ground plane_fit
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet3d.registry import TASK_UTILS  # noqa: E402
from mmengine.config import Config  # noqa: E402

import projects.HilDA.hilda  # noqa: E402,F401  (registers the segmenters)
from projects.HilDA.hilda.apis import CheckedDictAction  # noqa: E402
from projects.HilDA.hilda.apis import ConfigError, run_tool  # noqa: E402
from projects.HilDA.hilda.evaluation.occlusion_accuracy import (  # noqa
    GROUND_SEGMENTERS, NOISE_LABEL, evaluate_infos, format_table)


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
        choices=list(GROUND_SEGMENTERS) + ['none'],
        default='plane_fit',
        help="ground segmentation of the t0 scan used by 'free_space' "
        "(plane_fit: the dataset configs' choice)")
    parser.add_argument(
        '--ground-options',
        nargs='+',
        action=CheckedDictAction,
        default={},
        help='arguments of the ground segmenter, e.g. max_height=0.3 or, '
        'for patchworkpp, extra_params.num_iter=1 (dotted keys reach into '
        'dicts, as --cfg-options)')
    parser.add_argument(
        '--azimuth-bins',
        type=int,
        default=1084,
        help="range-image columns of 'free_space' (the LiDAR's azimuth "
        'steps per turn)')
    parser.add_argument(
        '--keep-noise',
        action='store_true',
        help='count the spurious returns (lidarseg noise) too; the ground '
        'truth calls them seen by no camera')
    parser.add_argument(
        '--max-samples', type=int, default=None, help='first N samples')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    occlusion = None if args.occlusion == 'none' else args.occlusion
    cfg = dict(occlusion=occlusion)
    if occlusion == 'depth_cells':
        cfg['occlusion_stride'] = args.occlusion_stride
    if occlusion == 'free_space':
        cfg['free_space'] = dict(azimuth_bins=args.azimuth_bins)
    segmenter = None
    if args.ground_options and (occlusion != 'free_space'
                                or args.ground == 'none'):
        raise ConfigError('--ground-options needs --occlusion free_space '
                          f'and a --ground (got {args.occlusion}, '
                          f'{args.ground})')
    if occlusion == 'free_space' and args.ground != 'none':
        ground = Config(dict(ground=GROUND_SEGMENTERS[args.ground]))
        ground.merge_from_dict({
            f'ground.{k}': v
            for k, v in args.ground_options.items()
        })
        try:
            segmenter = TASK_UTILS.build(ground.ground)
        except TypeError as e:  # an argument the segmenter does not take
            raise ConfigError(f'--ground-options: {e}') from e
    start = time.perf_counter()
    try:
        counts = evaluate_infos(
            args.data_root,
            args.ann_file,
            cfg,
            segmenter,
            args.max_samples,
            ignore_labels=() if args.keep_noise else (NOISE_LABEL, ))
    except KeyError as e:  # not an mmdet3d info file
        raise ConfigError(f'{osp.join(args.data_root, args.ann_file)}: no '
                          f'key {e}') from e
    print(f'occlusion={args.occlusion} ground={args.ground} '
          f'{segmenter!r} ({time.perf_counter() - start:.1f} s)')
    print('\n'.join(format_table(counts)))
    if counts['ignored'].sum():
        print(f"left out: {counts['ignored'].sum()} pairs of spurious "
              'returns (lidarseg noise), which lie on no surface')


if __name__ == '__main__':
    run_tool(main, 'occlusion_accuracy.py')
