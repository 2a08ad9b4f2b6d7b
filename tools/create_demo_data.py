# Copyright (c) HilDA authors. All rights reserved.
"""Generate HilDA's embedded demo world in nuScenes format.

Writes LiDAR scans, six camera images, lidarseg labels and mmdet3d (v1.1)
info files (``nuscenes_infos_{train,val}.pkl``) of a procedural street
world, and prints the set's statistics (points per scan, class shares,
moving agents and points, t+1 occupancy explained by t0; the moving
shares also for real info files given with ``--compare-infos``); see
``projects/HilDA/demo_world`` for what it holds.

Example:
    python tools/create_demo_data.py --out-dir data/hilda_demo
"""
import argparse
import os.path as osp
import sys
import time

# Make `projects.HilDA.hilda` importable from any working directory, as
# tools/train.py does.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.HilDA import demo_world  # noqa: E402
from projects.HilDA.hilda.apis import run_tool  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--out-dir', default='data/hilda_demo', help='data root to write into')
    parser.add_argument(
        '--scenes', type=int, default=8, help='number of scenes')
    parser.add_argument(
        '--frames',
        type=int,
        default=10,
        help='keyframes per scene (0.5 s apart)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        default=[400, 224],
        metavar=('W', 'H'),
        help='image width and height')
    parser.add_argument(
        '--val-scenes',
        type=int,
        default=2,
        help='the last V scenes form the val split')
    parser.add_argument(
        '--azimuth-steps',
        type=int,
        default=1084,
        help='LiDAR azimuth steps per revolution')
    parser.add_argument(
        '--workers',
        type=int,
        default=2,
        help='processes writing scenes in parallel (the files do not '
        'depend on it)')
    parser.add_argument(
        '--compare-infos',
        nargs='*',
        default=[],
        metavar='INFO_PKL',
        help='mmdet3d info files (e.g. real nuScenes) whose boxes to count '
        'as the demo\'s moving agents, for comparison')
    args = parser.parse_args(argv)
    for path in args.compare_infos:
        if not osp.isfile(path):
            parser.error(f'--compare-infos: no such file: {path}')
    if not 0 <= args.val_scenes <= args.scenes:
        parser.error(f'--val-scenes must be in [0, {args.scenes}]')
    if args.scenes < 1 or args.frames < 1 or min(args.img_size) < 1:
        parser.error('--scenes, --frames and --img-size must be positive')
    if args.seed < 0 or args.azimuth_steps < 1 or args.workers < 1:
        parser.error('--seed must be >= 0, --azimuth-steps and --workers '
                     'positive')
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    stats = demo_world.DemoStatistics()
    paths = demo_world.create_demo_dataset(
        args.out_dir,
        num_scenes=args.scenes,
        num_frames=args.frames,
        seed=args.seed,
        img_size=tuple(args.img_size),
        val_scenes=args.val_scenes,
        num_azimuth=args.azimuth_steps,
        stats=stats,
        workers=args.workers)
    for split, path in paths.items():
        print(f'wrote {split} infos: {path}')
    print(stats.format())
    for path in args.compare_infos:
        print(
            f'{path}: {demo_world.info_box_statistics(path).format_moving()}')
    seconds = time.time() - start
    frames = args.scenes * args.frames
    print(f'done in {seconds:.1f} s ({seconds / frames:.2f} s per frame '
          f'with {args.workers} worker(s))')


if __name__ == '__main__':
    run_tool(main, 'create_demo_data.py')
