# Copyright (c) HilDA authors. All rights reserved.
"""Pictures of what a HilDA pre-trainer learned, for one sample.

- :func:`draw_features`: per camera and distillation level, the teacher's
  feature map next to the student's point features mapped into teacher
  space by the level's head H_l, both coloured by the same PCA (fitted on
  the teacher), so similar colours mean similar features;
- :func:`draw_occupancy`: the diffusion head's sampled BEV occupancy
  against the target, with the IoU of occupied cells.

:func:`visualize_pretraining` runs everything from a config and a
checkpoint (``tools/analysis_tools/visualize_pretraining.py``). Figures
are drawn on matplotlib's Agg canvas directly, so importing this module
changes no global matplotlib state.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from mmengine.config import Config
from mmengine.runner import set_random_seed
from torch import Tensor

from .loading import build_pretrain_dataset, load_pretrainer, prepare_sample
from .occupancy_metrics import occupancy_iou, occupancy_to_bev
from .pca_colours import PCAColours, feature_map_rgb

# nuScenes' front cameras, left to right: the default subset drawn.
FRONT_CAMS = ('CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_FRONT_RIGHT')
DPI = 100
# Layout in pixels, so that a figure's size is known exactly.
FEATURE_PANEL_W = 300
PANEL_TITLE_H = 30
SUPTITLE_H = 40
BEV_PANEL = 320
BEV_MARGIN = (50, 40, 40, 10)  # left, bottom, top (title), right
DIM = 0.35  # brightness of the image under the student's dots


def _display_images(model, imgs: Tensor) -> np.ndarray:
    """Undo the preprocessor's normalisation: (C, 3, H, W) -> (C, H, W, 3)
    uint8 RGB (the teacher's channel order)."""
    pre = model.data_preprocessor
    rgb = imgs * pre.std.view(1, -1, 1, 1) + pre.mean.view(1, -1, 1, 1)
    return rgb.clamp(0, 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def student_teacher_features(model, inputs: dict, data_samples: list) -> dict:
    """Teacher maps and the student's t0 point features in teacher space.

    Uses the pre-trainer's own ``student_point_features`` and
    ``teacher.encode_views``; student level ``l``
    goes through ``distill_head.heads[l]`` (H_l), as in L_distill.

    Returns:
        dict: of the first sample, ``images`` (C, H, W, 3) uint8,
        ``cam_names``, ``teacher`` (per level (C, D_l, h_l, w_l)),
        ``strides``, ``student`` (per level (N, D_l) features of the t0
        points), ``valid`` (per level (N,) bool), ``point_idx``,
        ``cam_idx``, ``uv`` (the correspondences).
    """
    if model.distill_head is None:
        raise ValueError('the model has no distill_head: student features '
                         'cannot be mapped into teacher space')
    _, feats, valid, sizes = model.student_point_features(inputs, data_samples)
    num = sizes[0]  # sample 0's t0 points come first
    student = [
        head(f[:num]) for head, f in zip(model.distill_head.heads, feats)
    ]
    imgs = inputs['imgs']
    num_cams = imgs.shape[1]
    teacher, _ = model.teacher.encode_views(imgs)
    sample = data_samples[0]
    pairs = sample.correspondences
    return dict(
        images=_display_images(model, imgs[0]),
        cam_names=list(
            sample.metainfo.get('cam_names',
                                [str(i) for i in range(num_cams)])),
        teacher=[t[:num_cams].cpu() for t in teacher],
        strides=list(
            getattr(model.teacher, 'strides', None) or [None] * len(teacher)),
        student=[s.cpu() for s in student],
        valid=[v[:num].cpu() for v in valid],
        point_idx=pairs.point_idx.long().cpu(),
        cam_idx=pairs.cam_idx.long().cpu(),
        uv=pairs.uv.float().cpu())


@torch.no_grad()
def predict_occupancy(model,
                      inputs: dict,
                      data_samples: list,
                      num_inference_steps: int = 20,
                      seed: int = 0) -> dict:
    """Sample the diffusion head's occupancy (DDIM) for the batch.

    The conditioning is built as in the pre-trainer's L_diffusion: student
    features of the valid t-1 and t0 points (``'masked'`` mode: t0 with
    the voxels of random BEV patches removed before the student runs).

    Returns:
        dict: ``pred`` and ``target`` (B, K, H, W) in [-1, 1], ``bev_mask``
        (B, 1, H, W) or None.
    """
    head = model.diffusion_head
    if head is None:
        raise ValueError('the model has no diffusion_head')
    batch_size = len(data_samples)
    keep_voxel, bev_mask = model.patch_mask(inputs, data_samples)
    _, levels, sizes = model.student_levels(inputs, data_samples, keep_voxel)
    kwargs = model.diffusion_inputs(levels, inputs, sizes, batch_size)
    generator = torch.Generator(
        device=kwargs['feats_t0'].device).manual_seed(seed)
    pred = head.sample(
        **kwargs,
        batch_size=batch_size,
        bev_mask=bev_mask,
        num_inference_steps=num_inference_steps,
        scheduler='ddim',
        generator=generator)
    target = torch.stack([s.occ_target for s in data_samples])
    return dict(
        pred=pred.cpu(),
        target=target.float().cpu(),
        bev_mask=None if bev_mask is None else bev_mask.cpu())


# Drawing ------------------------------------------------------------------


def _save(fig: Figure, path: str) -> Tuple[int, int]:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI)
    return fig.canvas.get_width_height()


def select_cameras(cam_names: Sequence[str],
                   all_cameras: bool = False) -> List[int]:
    """Indices of the cameras to draw: all, or the front three (left to
    right) when present, else the first three."""
    if all_cameras:
        return list(range(len(cam_names)))
    front = [cam_names.index(c) for c in FRONT_CAMS if c in cam_names]
    return front if len(front) == len(FRONT_CAMS) else list(
        range(min(3, len(cam_names))))


def draw_features(path: str,
                  feats: dict,
                  cams: Optional[Sequence[int]] = None,
                  title: str = '',
                  quantile: float = 0.0,
                  normalize: bool = True,
                  point_size: Optional[float] = None) -> Tuple[int, int]:
    """Draw the teacher/student feature figure.

    One row per camera: the image, then per level the teacher map and the
    student's points (dots over the dimmed image). Level ``l``'s colours
    come from one PCA fitted on the teacher maps of all cameras of the
    sample, applied to both.

    Args:
        path (str): Output PNG.
        feats (dict): From :func:`student_teacher_features`.
        cams (Sequence[int], optional): Camera indices (rows); all when
            None.
        title (str): Figure title.
        quantile (float): See :meth:`PCAColours.fit`.
        normalize (bool): Colour L2-normalised features (default): every
            distillation loss (cosine, normalised L2, InfoNCE) ignores the
            norm, so H_l's output norm means nothing.
        point_size (float, optional): Dot area (points^2); by default a
            dot is one image pixel wide, at least 2.5 figure pixels.

    Returns:
        tuple[int, int]: The PNG's (width, height) in pixels:
        ``(1 + 2 * levels) * FEATURE_PANEL_W`` by ``rows * (round(
        FEATURE_PANEL_W * H / W) + PANEL_TITLE_H) + SUPTITLE_H``.
    """
    images = feats['images']
    cams = list(range(len(images))) if cams is None else list(cams)
    num_levels = len(feats['teacher'])
    height, width = images.shape[1:3]
    img_h = round(FEATURE_PANEL_W * height / width)
    row_h = img_h + PANEL_TITLE_H
    fig_w = (1 + 2 * num_levels) * FEATURE_PANEL_W
    fig_h = len(cams) * row_h + SUPTITLE_H
    fig = Figure(figsize=(fig_w / DPI, fig_h / DPI), dpi=DPI)
    if point_size is None:
        point_size = (max(2.5, FEATURE_PANEL_W / width) * 72 / DPI)**2

    def axes(row, col):
        # Pixel-exact rectangles; a 2% gap separates the columns.
        left = col * FEATURE_PANEL_W / fig_w
        bottom = 1 - (SUPTITLE_H + row * row_h + row_h) / fig_h
        ax = fig.add_axes(
            (left, bottom, 0.98 * FEATURE_PANEL_W / fig_w, img_h / fig_h))
        ax.set_axis_off()
        return ax

    point_idx, cam_idx, uv = feats['point_idx'], feats['cam_idx'], feats['uv']
    extent = (0, width, height, 0)  # pixel edges at integers
    for level in range(num_levels):
        teacher = feats['teacher'][level]
        colours = PCAColours.fit(
            teacher.permute(0, 2, 3, 1).reshape(-1, teacher.shape[1]),
            quantile, normalize)
        stride = feats['strides'][level]
        # Only the drawn pairs: one feature row per pair, no loop over
        # points.
        drawn = feats['valid'][level][point_idx] & torch.isin(
            cam_idx, torch.tensor(cams, dtype=cam_idx.dtype))
        pair_rgb = torch.zeros(len(point_idx), 3)
        pair_rgb[drawn] = colours(feats['student'][level][point_idx[drawn]])
        for row, k in enumerate(cams):
            ax = axes(row, 1 + 2 * level)
            ax.imshow(
                feature_map_rgb(colours, teacher[k], (height, width), stride),
                extent=extent)
            ax.set_title(f'teacher L{level}', fontsize=9)
            ax = axes(row, 2 + 2 * level)
            ax.imshow(
                (images[k] * DIM).astype(np.uint8), extent=extent, zorder=0)
            sel = drawn & (cam_idx == k)
            ax.scatter(
                uv[sel, 0].numpy(),
                uv[sel, 1].numpy(),
                c=pair_rgb[sel].numpy(),
                s=point_size,
                linewidths=0)
            ax.set_xlim(0, width)
            ax.set_ylim(height, 0)
            ax.set_title(
                f'student H{level}(F{level}), {int(sel.sum())} pts',
                fontsize=9)
    for row, k in enumerate(cams):
        ax = axes(row, 0)
        ax.imshow(images[k], extent=extent)
        ax.set_title(feats['cam_names'][k], fontsize=9)
    fig.suptitle(
        title or 'teacher maps vs student points (same PCA per level)',
        y=1 - 0.5 * SUPTITLE_H / fig_h,
        va='center',
        fontsize=11)
    return _save(fig, path)


def draw_occupancy(path: str,
                   pred: Tensor,
                   target: Tensor,
                   point_cloud_range: Sequence[float],
                   bev_mask: Optional[Tensor] = None,
                   title: str = '') -> Tuple[Tuple[int, int], dict]:
    """Draw predicted vs target BEV occupancy of one sample.

    Panels: target and prediction coloured by the top of the highest
    occupied height bin (black: empty), their agreement (green: both
    occupied, red: predicted only, blue: target only) and, in
    ``'masked'`` mode, the mask (the IoU counts masked cells only).
    x points right and y up, in metres; the cross is the sensor.

    Args:
        path (str): Output PNG.
        pred (Tensor): (K, H, W) predicted occupancy in [-1, 1].
        target (Tensor): (K, H, W) target in {-1, 1}.
        point_cloud_range (Sequence[float]): The BEV extent.
        bev_mask (Tensor, optional): (1, H, W) or (H, W) masked cells.
        title (str): Prefix of the figure title.

    Returns:
        tuple: The PNG's (width, height) and the IoU dict of
        :func:`occupancy_iou`.
    """
    region = None if bev_mask is None else bev_mask.reshape(
        pred.shape[-2:]).bool().cpu()
    iou = occupancy_iou(pred, target, region)
    num_bins = pred.shape[0]
    x0, y0, z0, x1, y1, z1 = point_cloud_range
    extent = (x0, x1, y0, y1)
    cmap = ListedColormap(
        np.concatenate([[[0, 0, 0, 1]],
                        colormaps['viridis'](np.linspace(0.15, 1, num_bins))]))

    pred_occ, target_occ = (pred > 0).any(0), (target > 0).any(0)
    agree = np.zeros(pred_occ.shape + (3, ), dtype=np.float32)
    agree[(pred_occ & target_occ).numpy()] = (0.1, 0.8, 0.1)
    agree[(pred_occ & ~target_occ).numpy()] = (0.9, 0.1, 0.1)
    agree[(~pred_occ & target_occ).numpy()] = (0.2, 0.4, 1.0)
    if region is not None:
        agree[~region.numpy()] *= 0.3  # outside the scored cells

    panels = [('target', occupancy_to_bev(target)),
              ('prediction (DDIM)', occupancy_to_bev(pred)),
              ('agreement: green TP, red FP, blue FN', agree)]
    if region is not None:
        panels.append(('mask (masked cells white)', region.float()))
    left, bottom, top, right = BEV_MARGIN
    colorbar_w = 100
    panel_w = left + BEV_PANEL + right
    fig_w = len(panels) * panel_w + colorbar_w
    fig_h = bottom + BEV_PANEL + top + SUPTITLE_H
    fig = Figure(figsize=(fig_w / DPI, fig_h / DPI), dpi=DPI)
    heights = None
    for i, (name, image) in enumerate(panels):
        ax = fig.add_axes(((i * panel_w + left) / fig_w, bottom / fig_h,
                           BEV_PANEL / fig_w, BEV_PANEL / fig_h))
        kwargs = dict(origin='lower', extent=extent, interpolation='nearest')
        if isinstance(image, Tensor) and image.dtype == torch.long:
            heights = ax.imshow(
                image.numpy(),
                cmap=cmap,
                vmin=-0.5,
                vmax=num_bins + 0.5,
                **kwargs)
        elif isinstance(image, Tensor):
            ax.imshow(image.numpy(), cmap='gray', vmin=0, vmax=1, **kwargs)
        else:
            ax.imshow(image, **kwargs)
        ax.plot(0, 0, '+', color='white', markersize=8)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel('x (m)', fontsize=8)
        if i == 0:
            ax.set_ylabel('y (m)', fontsize=8)
    cax = fig.add_axes(((fig_w - colorbar_w + 5) / fig_w, bottom / fig_h,
                        12 / fig_w, BEV_PANEL / fig_h))
    bar = fig.colorbar(heights, cax=cax, ticks=range(num_bins + 1))
    step = (z1 - z0) / num_bins
    bar.ax.set_yticklabels(
        ['empty'] + [f'{z0 + k * step:.1f}' for k in range(1, num_bins + 1)],
        fontsize=7)
    bar.set_label('top of highest occupied bin (m)', fontsize=7)
    scope = ' (masked cells)' if region is not None else ''
    fig.suptitle(
        f'{title}BEV IoU {iou["bev"]:.3f}, voxel IoU {iou["voxel"]:.3f}'
        f'{scope}',
        y=1 - 0.5 * SUPTITLE_H / fig_h,
        va='center',
        fontsize=11)
    return _save(fig, path), iou


# Everything ------------------------------------------------------------------


def visualize_pretraining(cfg: Config,
                          checkpoint: Optional[str],
                          out_dir: str,
                          index: int = 0,
                          split: str = 'train',
                          num_inference_steps: int = 20,
                          seed: int = 0,
                          all_cameras: bool = False,
                          quantile: float = 0.0,
                          normalize: bool = True,
                          device: str = 'cpu') -> Dict[str, str]:
    """Write ``features_<index>.png`` and ``occupancy_<index>.png``.

    Args:
        cfg (Config): Pre-training config (``model``,
            ``train_dataloader.dataset``).
        checkpoint (str, optional): Pre-training checkpoint; None keeps the
            initial weights.
        out_dir (str): Output folder.
        index (int): Sample index in the dataset.
        split (str): ``'train'`` or ``'val'`` (the val info file).
        num_inference_steps (int): DDIM steps.
        seed (int): Seed of the augmentations, masks and sampling noise.
        all_cameras (bool): Draw every camera, not the front three.
        quantile (float): PCA colour range quantile (0: min-max).
        normalize (bool): PCA of L2-normalised features (see
            :func:`draw_features`).
        device (str): Torch device.

    Returns:
        dict[str, str]: The PNGs written, by kind (``features``,
        ``occupancy``); a part the model lacks is skipped with a printed
        note.
    """
    set_random_seed(seed)  # the initial weights too when no checkpoint
    model = load_pretrainer(cfg, checkpoint, device)
    dataset = build_pretrain_dataset(cfg, split)
    inputs, data_samples = prepare_sample(model, dataset, index, seed)
    name = osp.basename(checkpoint) if checkpoint else 'initial weights'
    written = {}
    if model.distill_head is None:
        print('no distill_head in the config: features figure skipped')
    else:
        feats = student_teacher_features(model, inputs, data_samples)
        path = osp.join(out_dir, f'features_{index}.png')
        draw_features(
            path,
            feats,
            select_cameras(feats['cam_names'], all_cameras),
            title=f'{name}, {split}[{index}]: teacher maps vs student '
            'points H_l(F_l) (one PCA per level, fitted on the teacher'
            f'{", L2-normalised" if normalize else ""})',
            quantile=quantile,
            normalize=normalize)
        written['features'] = path
    if model.diffusion_head is None:
        print('no diffusion_head in the config: occupancy figure skipped')
    else:
        occ = predict_occupancy(model, inputs, data_samples,
                                num_inference_steps, seed)
        path = osp.join(out_dir, f'occupancy_{index}.png')
        mask = occ['bev_mask']
        mode = model.diffusion_head.mode
        _, iou = draw_occupancy(
            path,
            occ['pred'][0],
            occ['target'][0],
            model.diffusion_head.point_cloud_range,
            None if mask is None else mask[0],
            title=f'{name}, {split}[{index}], {mode}, '
            f'{num_inference_steps} DDIM steps: ')
        print(f'occupancy IoU: BEV {iou["bev"]:.3f}, '
              f'voxel {iou["voxel"]:.3f}')
        written['occupancy'] = path
    return written
