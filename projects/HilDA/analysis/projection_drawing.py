# Copyright (c) HilDA authors. All rights reserved.
"""Draw a sample's LiDAR points projected onto its six camera images
(the library of ``tools/analysis_tools/draw_projections.py``).

The picture checks calibration and point-pixel correspondences: points
coloured by depth must follow the scene's surfaces, and (with lidarseg
labels) points coloured by class must land on image content of that
class. On the demo world, ``--color-by flow`` colours points by their
ground-truth scene flow to the next keyframe (``demo_gt_path``), and
``--view bev`` draws the whole scan from above instead of the cameras
(flow as arrows). Works on nuScenes-format info files (v1.1), whether
the files lie in the nuScenes layout (``samples/LIDAR_TOP``, ``samples/CAM_*``,
``lidarseg/<version>``) or directly in the data root.
"""
import glob
import os
import os.path as osp

import cv2
import matplotlib

matplotlib.use('Agg')  # files only; no display on servers

import matplotlib.pyplot as plt  # noqa: E402
import mmengine  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from projects.HilDA.demo_world import LIDARSEG_NAMES, PALETTE  # noqa: E402
from projects.HilDA.hilda.datasets.transforms.projection import (  # noqa
    lidar2img_matrix, project_points)
from projects.HilDA.hilda.errors import HilDAError  # noqa: E402

# nuScenes' usual layout: front cameras on top, back cameras below.
GRID = (('CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_FRONT_RIGHT'),
        ('CAM_BACK_LEFT', 'CAM_BACK', 'CAM_BACK_RIGHT'))

MAX_FLOW = 5.0  # metres per keyframe step at the end of the colour map


class DrawError(HilDAError, ValueError):
    """A problem with the inputs (a missing file, an index out of range,
    a colouring the sample cannot have), reported in one line."""


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
    flow = None
    if info.get('demo_gt_path'):
        with np.load(osp.join(data_root, info['demo_gt_path'])) as gt:
            if gt['has_next']:
                flow = gt['flow']
        if flow is not None and len(flow) != len(points):
            raise DrawError(f'{len(flow)} flow rows for {len(points)} points')
    return dict(
        points=points,
        cams=cams,
        images=images,
        lidar2img=np.stack(lidar2img),
        labels=labels,
        flow=flow)


def check_colouring(sample, color_by):
    """A clear error when the sample lacks what ``color_by`` needs."""
    if color_by == 'class' and sample['labels'] is None:
        raise DrawError(
            '--color-by class needs lidarseg labels, but this sample has '
            "no 'pts_semantic_mask_path' (e.g. the real nuScenes frame); "
            'use --color-by depth')
    if color_by == 'flow' and sample['flow'] is None:
        raise DrawError(
            '--color-by flow needs the demo ground truth of a keyframe '
            "with a successor ('demo_gt_path' with has_next); this sample "
            'has none')


def class_colours(labels):
    """RGB in [0, 1] per lidarseg id: nuscenes-devkit's colours for the
    demo world's classes, else tab20."""
    tab20 = plt.get_cmap('tab20')
    lut = np.array([tab20(i % 20)[:3] for i in range(256)])
    for label, rgb in PALETTE.items():
        lut[label] = np.asarray(rgb) / 255
    return lut[labels]


def save(fig, out, dpi, colors=None):
    """Save and close a figure; ``colors`` quantises the PNG's palette
    (much smaller files, e.g. for the docs)."""
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    if colors:
        with Image.open(out) as image:
            small = image.convert('RGB').quantize(colors)
        small.save(out, optimize=True)


def flow_colours(flow, max_flow=MAX_FLOW):
    """Scatter colours: flow magnitude (metres per keyframe step)."""
    return dict(
        c=np.linalg.norm(flow, axis=1), cmap='plasma', vmin=0, vmax=max_flow)


def draw_bev(info_file,
             data_root,
             out,
             index=0,
             color_by='flow',
             max_range=50.0,
             dpi=90,
             colors=None):
    """Draw one scan from above (LiDAR frame), coloured by ``color_by``.

    With ``color_by='flow'`` moving points also get arrows: where the
    same surface point is at the next keyframe.

    Args:
        info_file (str): mmdet3d nuScenes info file.
        data_root (str): Folder the info's bare file names are relative to.
        out (str): Output PNG path.
        index (int): Sample index in the info file.
        color_by (str): 'depth', 'class' or 'flow'.
        max_range (float): Half size of the drawn square, metres.
        dpi (int): Resolution of the PNG.
        colors (int, optional): Quantise the PNG to this many colours.

    Returns:
        dict[str, int]: ``points`` drawn and ``moving`` (flow above 0.1 m).
    """
    sample = load_sample(info_file, data_root, index)
    check_colouring(sample, color_by)
    points = sample['points']
    near = np.all(np.abs(points[:, :2]) < max_range, axis=1)
    xy = points[near, :2]
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    if color_by == 'class':
        colour = dict(c=class_colours(sample['labels'][near]))
    elif color_by == 'flow':
        colour = flow_colours(sample['flow'][near])
    else:
        colour = dict(
            c=np.linalg.norm(xy, axis=1), cmap='turbo', vmin=0, vmax=max_range)
    moving = 0
    if color_by == 'flow':
        # Still points light grey; moving ones on top, coloured by speed,
        # with arrows to where they are at t+1.
        flow = sample['flow'][near]
        fast = np.linalg.norm(flow, axis=1) > 0.1
        moving = int(fast.sum())
        ax.scatter(xy[~fast, 0], xy[~fast, 1], s=0.4, linewidths=0, c='0.75')
        scatter = ax.scatter(
            xy[fast, 0],
            xy[fast, 1],
            s=1.5,
            linewidths=0,
            c=colour['c'][fast],
            cmap=colour['cmap'],
            vmin=colour['vmin'],
            vmax=colour['vmax'])
        arrows = np.nonzero(fast)[0][::25]
        ax.quiver(
            xy[arrows, 0],
            xy[arrows, 1],
            flow[arrows, 0],
            flow[arrows, 1],
            angles='xy',
            scale_units='xy',
            scale=1,
            width=0.0015,
            color='k')
        fig.colorbar(
            scatter,
            ax=ax,
            fraction=0.04,
            label='scene flow to t+1 (m per 0.5 s)')
    else:
        ax.scatter(xy[:, 0], xy[:, 1], s=0.6, linewidths=0, **colour)
    ax.set_aspect('equal')
    ax.set_xlim(-max_range, max_range)
    ax.set_ylim(-max_range, max_range)
    ax.set_xlabel('x (m, LiDAR frame)')
    ax.set_ylabel('y (m)')
    ax.set_title(f'{osp.basename(info_file)} [{index}]: {int(near.sum())} '
                 f'points, coloured by {color_by}')
    fig.tight_layout()
    save(fig, out, dpi, colors)
    return dict(points=int(near.sum()), moving=moving)


def draw_projections(info_file,
                     data_root,
                     out,
                     index=0,
                     color_by='depth',
                     occlusion=None,
                     occlusion_stride=None,
                     max_depth=60.0,
                     dpi=100,
                     colors=None):
    """Draw the projections of one sample into a PNG.

    Args:
        info_file (str): mmdet3d nuScenes info file.
        data_root (str): Folder the info's bare file names are relative to.
        out (str): Output PNG path.
        index (int): Sample index in the info file.
        color_by (str): 'depth', 'class' (needs lidarseg labels),
            'flow' (needs the demo world's ground truth) or 'none' (the
            images alone).
        occlusion (str, optional): ``'depth_cells'`` or None (no
            occlusion test), see
            :func:`~projects.HilDA.hilda.datasets.transforms.projection.project_points`.
        occlusion_stride (int, optional): Cell size of ``'depth_cells'``.
        max_depth (float): Depth at the end of the colour map, metres.
        dpi (int): Resolution of the PNG.
        colors (int, optional): Quantise the PNG to this many colours.

    Returns:
        dict[str, int]: Number of points drawn per camera.
    """
    sample = load_sample(info_file, data_root, index)
    check_colouring(sample, color_by)
    shapes = [img.shape[:2] for img in sample['images']]
    proj = project_points(
        sample['points'],
        sample['lidar2img'],
        shapes,
        occlusion=occlusion,
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
        elif color_by == 'flow':
            colour = flow_colours(sample['flow'][proj['point_idx'][sel]])
        else:  # 'none' draws no points
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
        if color_by != 'none':
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
            ncol=min(len(handles), 8),
            fontsize=9,
            frameon=False)
    fig.suptitle(f'{osp.basename(info_file)} [{index}]: '
                 f'{len(proj["point_idx"])} of {len(sample["points"])} '
                 f'points in a camera, coloured by {color_by}')
    rows = 1 if color_by != 'class' else -(-len(handles) // 8)
    fig.tight_layout(rect=(0, 0.04 * rows, 1, 0.97))
    save(fig, out, dpi, colors)
    return counts
