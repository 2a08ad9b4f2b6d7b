# Copyright (c) HilDA authors. All rights reserved.
"""Write nuScenes info files (mmdet3d v1.1) with HilDA's temporal links.

Example::

    python tools/create_hilda_infos.py --root-path data/nuscenes \\
        --version v1.0-trainval --out-dir data/nuscenes --extra-tag nuscenes

writes ``nuscenes_infos_train.pkl`` and ``nuscenes_infos_val.pkl``
(``v1.0-mini``: the mini_train/mini_val scenes; ``v1.0-test``:
``nuscenes_infos_test.pkl``). A wrong root, version or missing table ends
in one line on stderr.
"""
import argparse
import os.path as osp
import sys

# Make `projects.HilDA.hilda` importable from any working directory, as
# tools/train.py does.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.HilDA.hilda.apis import run_tool  # noqa: E402
from projects.HilDA.hilda.datasets.converters import (  # noqa: E402
    NUSCENES_SPLITS, create_nuscenes_infos)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Create nuScenes info files with the previous/next '
        'keyframe links HilDA pre-training needs')
    parser.add_argument(
        '--root-path',
        default='./data/nuscenes',
        help='nuScenes data root (holds samples/, sweeps/ and the tables)')
    parser.add_argument(
        '--version',
        default='v1.0-trainval',
        help=f'dataset version: {", ".join(NUSCENES_SPLITS)}')
    parser.add_argument(
        '--out-dir',
        default=None,
        help='where to write the info files (default: --root-path)')
    parser.add_argument(
        '--extra-tag',
        default='nuscenes',
        help='file name prefix: {extra_tag}_infos_{split}.{format}')
    parser.add_argument(
        '--format',
        choices=['pkl', 'json'],
        default='pkl',
        help='pkl (mmdet3d\'s format) or json (same content, a format that '
        'cannot carry code; the datasets read both)')
    parser.add_argument(
        '--max-sweeps',
        type=int,
        default=10,
        help='earlier LiDAR sweeps listed per keyframe (0: none)')
    parser.add_argument(
        '--skip-file-check',
        action='store_true',
        help='do not check that the keyframe LiDAR files exist (e.g. when '
        'only the metadata is downloaded)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    create_nuscenes_infos(
        root_path=args.root_path,
        version=args.version,
        out_dir=args.out_dir,
        extra_tag=args.extra_tag,
        max_sweeps=args.max_sweeps,
        check_files=not args.skip_file_check,
        file_format=args.format)


if __name__ == '__main__':
    run_tool(main, 'create_hilda_infos.py')
