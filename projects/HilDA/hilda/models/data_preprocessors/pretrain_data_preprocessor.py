# Copyright (c) HilDA authors. All rights reserved.
from typing import List

import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample

from .data_preprocessor import HilDADataPreprocessor


@MODELS.register_module()
class HilDAPretrainDataPreprocessor(HilDADataPreprocessor):
    """Data preprocessor of HilDA pre-training.

    Images are normalised and stacked by mmdet3d's code into
    ``inputs['imgs']`` (B, num_cams, 3, H, W) (configure ``mean``/``std``
    /``bgr_to_rgb`` for the teacher). The t0 scans and the t-1 scans
    (``points_prev``) are voxelised together as one batch of 2B samples
    (batch index ``b`` for t0, ``B + b`` for t-1), so the student runs once
    on both. The t+1 scan is dropped here: its occupancy is already the
    target.

    Added to ``inputs``: ``voxels`` (the joint voxel dict),
    ``points_prev`` (list of tensors), ``prev_point2voxel`` (list of
    (N_i,) long maps of the t-1 points into the joint voxels). Each t0
    data sample gets ``point2voxel_map`` as in mmdet3d.

    Cached teacher features (``LoadTeacherFeatures``) become
    ``inputs['teacher_feats']``, per level (B*C, D_l, h_l, w_l) float32,
    and ``inputs['teacher_cls']`` (B, C, D); the pre-trainer then skips
    the teacher.

    Args:
        voxelize_prev (bool): Voxelise ``points_prev`` when present. The
            pre-trainer turns it off when no objective uses t-1 (ablations
            without temporal diffusion), so the student does not run on
            scans nobody reads. Defaults to True.
        **kwargs: The arguments of :class:`HilDADataPreprocessor`.
    """

    def __init__(self, voxelize_prev: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.voxelize_prev = voxelize_prev

    def simple_process(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        prev = inputs.pop('points_prev', None)
        inputs.pop('points_next', None)
        cached_feats = inputs.pop('teacher_feats', None)
        cached_cls = inputs.pop('teacher_cls', None)
        if not self.voxelize_prev:
            prev = None
        # mmdet3d's simple_process would voxelise t0 alone; it is done
        # below for t0 and t-1 together.
        voxel, self.voxel = self.voxel, False
        try:
            out = super().simple_process(data, training)
        finally:
            self.voxel = voxel
        if cached_feats is not None:
            # pseudo_collate turned the samples' per-level lists into
            # per-level lists of samples; concatenated: (B*C, D_l, h_l,
            # w_l), samples then cameras, the live teacher's layout.
            out['inputs']['teacher_feats'] = [
                self.cast_data(torch.cat(level)).float()
                for level in cached_feats
            ]
            out['inputs']['teacher_cls'] = self.cast_data(
                torch.stack(cached_cls)).float()
        if not self.voxel or 'points' not in out['inputs']:
            return out
        points: List = list(out['inputs']['points'])
        stand_ins = []
        if prev is not None:
            prev = [p.to(points[0].device) for p in prev]
            stand_ins = [Det3DDataSample() for _ in prev]
            out['inputs']['points_prev'] = prev
        out['inputs']['voxels'] = self.voxelize(
            points + (prev or []), out['data_samples'] + stand_ins)
        out['inputs']['prev_point2voxel'] = [
            s.point2voxel_map for s in stand_ins
        ]
        return out
