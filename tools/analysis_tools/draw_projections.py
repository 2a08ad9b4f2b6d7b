# Copyright (c) HilDA authors. All rights reserved.
"""Draw a sample's LiDAR points projected onto its six camera images.

The picture checks calibration and point-pixel correspondences: points
coloured by depth must follow the scene's surfaces, and (with lidarseg
labels) points coloured by class must land on image content of that
class. Works on nuScenes-format info files (v1.1), whether the files lie
in the nuScenes layout (``samples/LIDAR_TOP``, ``samples/CAM_*``,
``lidarseg/<version>``) or directly in the data root.

Example:
    python tools/analysis_tools/draw_projections.py \
        data/hilda_demo/nuscenes_infos_val.pkl --data-root data/hilda_demo \
        --color-by class --occlusion-stride 8 --out work_dirs/proj.png
"""
import argparse
import glob
import os
import os.path as osp
import sys

# Make `projects.HilDA.hilda` importable from any working directory, as
# tools/train.py does.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use('Agg')  # files only; no display on servers

import matplotlib.pyplot as plt  # noqa: E402
import mmengine  # noqa: E402
import numpy as np  # noqa: E402

from projects.HilDA.demo_world import LIDARSEG_NAMES, PALETTE  # noqa: E402
from projects.HilDA.hilda.datasets.transforms.projection import (  # noqa
    lidar2img_matrix, project_points)

# nuScenes' usual layout: front cameras on top, back cameras below.
GRID = (('CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_FRONT_RIGHT'),
        ('CAM_BACK_LEFT', 'CAM_BACK', 'CAM_BACK_RIGHT'))


class DrawError(Exception):
    """A problem with the inputs, reported in one line."""


def find_file(data_root, name, folders):
    """The first of ``data_root/folder/name`` that exists.

    Args:
        data_root (str): Data root.
        name (str): Bare file name from the info file.
        folders (list[str]): Candidate folders relative to the root.
    """
    tried = [osp.join(data_root, folder, name) for folder in folders]
    for path in tried:
        if osp.isfile(path):
            return path
    raise DrawError(f'{name} not found; tried ' + ', '.join(tried))


def load_sample(info_file, data_root, index):
    """Points, images, calibration and optional labels of one sample."""
    infos = mmengine.load(info_file)
    data_list = infos['data_list']
    if not -len(data_list) <= index < len(data_list):
        raise DrawError(f'--index {index} out of range: {info_file} holds '
                        f'{len(data_list)} samples')
    info = data_list[index]
    lidar = info['lidar_points']
    points = np.fromfile(
        find_file(data_root, lidar['lidar_path'], ['', 'samples/LIDAR_TOP']),
        dtype=np.float32).reshape(-1, lidar.get('num_pts_feats', 5))
    cams = [cam for row in GRID for cam in row if cam in info['images']]
    images, lidar2img = [], []
    for cam in cams:
        cam_info = info['images'][cam]
        path = find_file(data_root, cam_info['img_path'],
                         ['', osp.join('samples', cam)])
        images.append(cv2.imread(path)[..., ::-1])
        lidar2img.append(
            lidar2img_matrix(cam_info['cam2img'], cam_info['lidar2cam']))
    labels = None
    if info.get('pts_semantic_mask_path'):
        folders = [''] + sorted(
            osp.relpath(d, data_root)
            for d in glob.glob(osp.join(data_root, 'lidarseg', '*')))
        labels = np.fromfile(
            find_file(data_root, info['pts_semantic_mask_path'], folders),
            dtype=np.uint8)
        if len(labels) != len(points):
            raise DrawError(f'{len(labels)} labels for {len(points)} points')
    return dict(
        points=points,
        cams=cams,
        images=images,
        lidar2img=np.stack(lidar2img),
        labels=labels)


def class_colours(labels):
    """RGB in [0, 1] per lidarseg id: the demo palette, else tab20."""
    tab20 = plt.get_cmap('tab20')
    lut = np.array([tab20(i % 20)[:3] for i in range(256)])
    for label, rgb in PALETTE.items():
        lut[label] = np.asarray(rgb) / 255
    return lut[labels]


def draw_projections(info_file,
                     data_root,
                     out,
                     index=0,
                     color_by='depth',
                     occlusion_stride=None,
                     max_depth=60.0):
    """Draw the projections of one sample into a PNG.

    Args:
        info_file (str): mmdet3d nuScenes info file.
        data_root (str): Folder the info's bare file names are relative to.
        out (str): Output PNG path.
        index (int): Sample index in the info file.
        color_by (str): 'depth' or 'class' (needs lidarseg labels).
        occlusion_stride (int, optional): Cell size of the occlusion test.
        max_depth (float): Depth at the end of the colour map, metres.

    Returns:
        dict[str, int]: Number of points drawn per camera.
    """
    sample = load_sample(info_file, data_root, index)
    if color_by == 'class' and sample['labels'] is None:
        raise DrawError(
            '--color-by class needs lidarseg labels, but this sample has '
            "no 'pts_semantic_mask_path' (e.g. the real nuScenes frame); "
            'use --color-by depth')
    shapes = [img.shape[:2] for img in sample['images']]
    proj = project_points(
        sample['points'],
        sample['lidar2img'],
        shapes,
        occlusion_stride=occlusion_stride)

    fig, axes = plt.subplots(
        len(GRID), len(GRID[0]), figsize=(18, 7.2), squeeze=False)
    for ax in axes.ravel():
        ax.axis('off')
    counts = {}
    for k, cam in enumerate(sample['cams']):
        row, col = next((r, c) for r, names in enumerate(GRID)
                        for c, name in enumerate(names) if name == cam)
        ax = axes[row, col]
        height, width = shapes[k]
        sel = proj['cam_idx'] == k
        uv = proj['uv'][sel]
        if color_by == 'class':
            colour = dict(
                c=class_colours(sample['labels'][proj['point_idx'][sel]]))
        else:
            colour = dict(
                c=proj['depth'][sel], cmap='turbo', vmin=0, vmax=max_depth)
        image = sample['images'][k]
        if color_by == 'class':
            # Dimmed so that points drawn in the palette's own colours stand
            # out; a point whose colour differs from the content under it
            # is a label/calibration error.
            image = (image * 0.45).astype(np.uint8)
        # extent puts pixel edges at integers, the projection's convention.
        ax.imshow(image, extent=(0, width, height, 0))
        ax.scatter(uv[:, 0], uv[:, 1], s=1.5, linewidths=0, **colour)
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_title(f'{cam} ({int(sel.sum())} points)', fontsize=10)
        counts[cam] = int(sel.sum())
    if color_by == 'class':
        present = np.unique(sample['labels'])
        handles = [
            plt.Line2D([], [],
                       marker='o',
                       linestyle='',
                       color=class_colours(np.array([label]))[0],
                       label=LIDARSEG_NAMES.get(int(label), str(label)))
            for label in present
        ]
        fig.legend(
            handles=handles,
            loc='lower center',
            ncol=len(handles),
            fontsize=9,
            frameon=False)
    fig.suptitle(f'{osp.basename(info_file)} [{index}]: '
                 f'{len(proj["point_idx"])} of {len(sample["points"])} '
                 f'points in a camera, coloured by {color_by}')
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return counts


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
        choices=['depth', 'class'],
        default='depth',
        help='point colours')
    parser.add_argument(
        '--occlusion-stride',
        type=int,
        default=None,
        help='cell size (px) of the occlusion test')
    parser.add_argument('--out', required=True, help='output PNG')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        counts = draw_projections(args.info_file, args.data_root, args.out,
                                  args.index, args.color_by,
                                  args.occlusion_stride)
    except (DrawError, FileNotFoundError) as e:
        sys.exit(f'draw_projections.py: error: {e}')
    print(f'wrote {args.out} ({sum(counts.values())} points drawn)')


if __name__ == '__main__':
    main()
