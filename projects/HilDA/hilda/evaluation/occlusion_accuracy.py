# Copyright (c) HilDA authors. All rights reserved.
"""How well an occlusion test keeps what cameras see and drops the rest.

The demo world knows, by ray casting, which camera really sees each LiDAR
point (``cam_visible`` in the ``.npz`` named by an info's ``demo_gt_path``).
Among the (point, camera) pairs that project inside an image, a test should
keep the visible ones (recall of visible pairs) and drop the occluded ones
(recall of occluded pairs); both are reported per band of camera depth.
Without ground truth (a real keyframe) only the pairs inside images and
the pairs kept are counted.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import mmengine
import numpy as np

from ..datasets.transforms.loading import camera_calibration
from ..datasets.transforms.projection import camera_visibility
from ..errors import HilDAError

DEPTH_BANDS: Tuple[Tuple[float, float],
                   ...] = ((0, 10), (10, 20), (20, 40), (40, np.inf))
COUNT_KEYS = ('in_image', 'kept', 'visible', 'visible_kept', 'occluded',
              'occluded_dropped', 'ignored')
# Lidarseg id of the demo LiDAR's spurious returns (dust, rain): they lie on
# no surface, so the ground truth calls them seen by no camera, and no
# geometric test can tell them from a real point in free space.
NOISE_LABEL = 0

# Ground segmenters of the t0 scan for the free-space test, by name (the
# tools' --ground): the dataset configs' plane fit, the same without refits
# (a height threshold), Patchwork++ (the paper target's) and Patchwork++
# with its refinements off (docs/data_pipeline.md, "Ground for the
# occlusion test"). nuScenes' LIDAR_TOP is 1.84 m up, the demo LiDAR too.
GROUND_SEGMENTERS = dict(
    plane_fit=dict(type='PlaneFitGroundSegmenter', sensor_height=1.84),
    height=dict(
        type='PlaneFitGroundSegmenter', sensor_height=1.84, num_iter=0),
    patchworkpp=dict(type='PatchworkPPGroundSegmenter', sensor_height=1.84),
    patchworkpp_lite=dict(
        type='PatchworkPPGroundSegmenter',
        sensor_height=1.84,
        enable_rnr=False,
        extra_params=dict(num_iter=1, enable_RVPF=False, enable_TGR=False)))


class OcclusionGTError(HilDAError, ValueError):
    """The ground truth of a sample does not fit its scan or cameras."""


def count_pairs(in_image: np.ndarray,
                kept: np.ndarray,
                depth: np.ndarray,
                cam_visible: Optional[np.ndarray] = None,
                bands: Sequence[Tuple[float, float]] = DEPTH_BANDS,
                ignore: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
    """Counts of (camera, point) pairs per depth band.

    Args:
        in_image (np.ndarray): (C, N) bool, pairs in front and inside.
        kept (np.ndarray): (C, N) bool, pairs the test keeps.
        depth (np.ndarray): (C, N) camera depth (m).
        cam_visible (np.ndarray, optional): (N, C) bool ground truth.
        bands (Sequence[tuple[float, float]]): Depth bands [lo, hi).
        ignore (np.ndarray, optional): (N,) bool points left out of every
            count but ``ignored`` (their pairs inside images).

    Returns:
        dict[str, np.ndarray]: (len(bands),) int64 per key of
        ``COUNT_KEYS`` (ground-truth keys 0 without ``cam_visible``).
    """
    out = {key: np.zeros(len(bands), np.int64) for key in COUNT_KEYS}
    if ignore is not None:
        for i, (lo, hi) in enumerate(bands):
            out['ignored'][i] = (in_image & ignore[None] & (depth >= lo)
                                 & (depth < hi)).sum()
        in_image = in_image & ~ignore[None]
    truth = None if cam_visible is None else np.asarray(cam_visible, bool).T
    for i, (lo, hi) in enumerate(bands):
        band = in_image & (depth >= lo) & (depth < hi)
        out['in_image'][i] = band.sum()
        out['kept'][i] = (band & kept).sum()
        if truth is not None:
            out['visible'][i] = (band & truth).sum()
            out['visible_kept'][i] = (band & truth & kept).sum()
            out['occluded'][i] = (band & ~truth).sum()
            out['occluded_dropped'][i] = (band & ~truth & ~kept).sum()
    return out


def evaluate_sample(
    info: dict,
    data_root: str,
    projection_cfg: dict,
    ground_segmenter=None,
    load_dim: int = 5,
    bands: Sequence[Tuple[float, float]] = DEPTH_BANDS,
    label_prefix: str = 'lidarseg/v1.0-demo',
    ignore_labels: Sequence[int] = (NOISE_LABEL, )
) -> Dict[str, np.ndarray]:
    """Counts of one sample of an mmdet3d info file (see
    :func:`count_pairs`).

    Args:
        info (dict): One ``data_list`` entry; paths are relative to
            ``data_root`` (bare file names are looked up in
            ``samples/LIDAR_TOP`` and ``samples/<camera>``, and in
            ``data_root`` itself).
        data_root (str): Data root.
        projection_cfg (dict): Keyword arguments of
            :func:`~..datasets.transforms.projection.camera_visibility`
            (``occlusion``, ``free_space``, ...).
        ground_segmenter (callable, optional): Gives the ``ground`` mask of
            the free-space test.
        load_dim (int): Values per point in the ``.bin`` files.
        bands (Sequence[tuple[float, float]]): Depth bands.
        label_prefix (str): Folder of the lidarseg files named by
            ``pts_semantic_mask_path``.
        ignore_labels (Sequence[int]): Lidarseg ids whose points are left
            out (counted as ``ignored``) when the sample has labels: by
            default the spurious returns, which no camera sees and no
            geometric test can recognise.

    Returns:
        dict[str, np.ndarray]: counts per band.

    Raises:
        OcclusionGTError: ground truth with other rows or cameras than the
            sample.
    """
    points = load_scan(info, data_root, load_dim)
    images = info['images']
    cam2img, lidar2cam = camera_calibration(images)
    shapes = []
    for cam, item in images.items():
        path = _find(data_root, item['img_path'], f'samples/{cam}')
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise OcclusionGTError(f'{path}: cannot read the image')
        shapes.append(img.shape[:2])
    ground = ground_segmenter(points) if ground_segmenter else None
    vis = camera_visibility(
        points, cam2img @ lidar2cam, shapes, ground=ground, **projection_cfg)
    cam_visible = None
    if info.get('demo_gt_path'):
        gt_path = osp.join(data_root, info['demo_gt_path'])
        with np.load(gt_path) as gt:
            cam_visible, names = gt['cam_visible'], list(gt['cam_names'])
        if cam_visible.shape != (len(points), len(images)):
            raise OcclusionGTError(
                f'{gt_path}: cam_visible has shape {cam_visible.shape}, the '
                f'sample has {len(points)} points and {len(images)} cameras')
        if names != list(images):
            raise OcclusionGTError(f'{gt_path}: cam_names {names} differ from '
                                   f'the info cameras {list(images)}')
    ignore = None
    if ignore_labels and info.get('pts_semantic_mask_path'):
        labels = np.fromfile(
            _find(data_root, info['pts_semantic_mask_path'], label_prefix),
            dtype=np.uint8)
        if len(labels) != len(points):
            raise OcclusionGTError(
                f"{info['pts_semantic_mask_path']}: {len(labels)} labels for "
                f'{len(points)} points')
        ignore = np.isin(labels, ignore_labels)
    return count_pairs(vis['in_image'], vis['visible'], vis['depth'],
                       cam_visible, bands, ignore)


def load_scan(info: dict, data_root: str, load_dim: int = 5) -> np.ndarray:
    """The (N, ``load_dim``) float32 t0 scan of an info (a bare file name
    is looked up in ``samples/LIDAR_TOP`` and in ``data_root``).

    Raises:
        OcclusionGTError: the file is missing or not whole points.
    """
    lidar_path = _find(data_root, info['lidar_points']['lidar_path'],
                       'samples/LIDAR_TOP')
    points = np.fromfile(lidar_path, dtype=np.float32)
    if points.size % load_dim:
        raise OcclusionGTError(f'{lidar_path}: {points.size} values are not '
                               f'a whole number of {load_dim}-value points')
    return points.reshape(-1, load_dim)


def _find(data_root: str, path: str, prefix: str) -> str:
    for candidate in (osp.join(data_root, prefix,
                               path), osp.join(data_root, path), path):
        if osp.isfile(candidate):
            return candidate
    raise OcclusionGTError(f'{path}: file not found under {data_root} '
                           f'(nor under {prefix}/)')


def evaluate_infos(data_root: str,
                   ann_file: str,
                   projection_cfg: dict,
                   ground_segmenter=None,
                   max_samples: Optional[int] = None,
                   bands: Sequence[Tuple[float, float]] = DEPTH_BANDS,
                   **sample_kwargs) -> Dict[str, np.ndarray]:
    """Summed counts over the samples of an info file; ``sample_kwargs``
    go to :func:`evaluate_sample`."""
    infos = mmengine.load(osp.join(data_root, ann_file))['data_list']
    total = {key: np.zeros(len(bands), np.int64) for key in COUNT_KEYS}
    for info in infos[:max_samples]:
        counts = evaluate_sample(
            info,
            data_root,
            projection_cfg,
            ground_segmenter,
            bands=bands,
            **sample_kwargs)
        for key in COUNT_KEYS:
            total[key] += counts[key]
    return total


def format_table(
        counts: Dict[str, np.ndarray],
        bands: Sequence[Tuple[float, float]] = DEPTH_BANDS) -> List[str]:
    """Markdown rows: per band and overall, the pairs inside images, kept,
    and (with ground truth) the two recalls; ignored pairs are not in
    them."""
    with_gt = counts['visible'].sum() + counts['occluded'].sum() > 0
    header = '| camera depth | pairs in image | kept |'
    rule = '|---|---:|---:|'
    if with_gt:
        header += (' visible | visible kept | occluded | occluded dropped |')
        rule += '---:|---:|---:|---:|'
    rows = [header, rule]
    names = [(f'{lo:g}-{hi:g} m' if np.isfinite(hi) else f'{lo:g}+ m')
             for lo, hi in bands]
    for i, name in enumerate(names + ['all']):
        pick = (slice(None) if name == 'all' else slice(i, i + 1))
        c = {key: int(counts[key][pick].sum()) for key in COUNT_KEYS}
        row = (f"| {name} | {c['in_image']} | {c['kept']} "
               f"({_pct(c['kept'], c['in_image'])}) |")
        if with_gt:
            row += (f" {c['visible']} | "
                    f"{_pct(c['visible_kept'], c['visible'])} | "
                    f"{c['occluded']} | "
                    f"{_pct(c['occluded_dropped'], c['occluded'])} |")
        rows.append(row)
    return rows


def _pct(num: int, den: int) -> str:
    return f'{100 * num / den:.1f} %' if den else '-'
