# Copyright (c) HilDA authors. All rights reserved.
from typing import Dict, List, Optional, Sequence

import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from torch import Tensor

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

    Point-pixel pairs: when the samples carry ``correspondences``
    (``ProjectPointsToImages``), ``inputs['pairs']`` holds those of the
    whole batch in batch numbering (:meth:`batch_pairs`): ``point_idx``
    (row among all t0 points, samples one after another), ``img_idx``
    (image among the B*num_cams, samples then cameras), ``uv`` (float
    pixel) and, when every sample has ``superpixels``, ``superpixel`` (an
    id unique over the batch).

    Cached teacher features (``LoadTeacherFeatures``) become
    ``inputs['teacher_feats']``, per level (B*C, D_l, h_l, w_l) float32,
    and ``inputs['teacher_cls']`` (B, C, D); the pre-trainer then skips
    the teacher.

    Args:
        voxelize_prev (bool): Voxelise ``points_prev`` when present.
            ``HilDAPretrainer`` configures it from its diffusion mode
            (:meth:`HilDAPretrainer.preprocessor_config`): off when no
            objective reads t-1, so the student does not run on scans
            nobody reads. Defaults to True.
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
        pairs = self._pairs_of(out['inputs'], out['data_samples'])
        if pairs is not None:
            out['inputs']['pairs'] = pairs
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

    @staticmethod
    def _pairs_of(inputs: dict,
                  data_samples: list) -> Optional[Dict[str, Tensor]]:
        """The batch's pairs, or None without correspondences."""
        if not data_samples or 'points' not in inputs or not all(
                'correspondences' in s for s in data_samples):
            return None
        if 'imgs' in inputs:
            num_cams = inputs['imgs'].shape[1]
        elif 'teacher_cls' in inputs:
            num_cams = inputs['teacher_cls'].shape[1]
        else:
            return None
        return HilDAPretrainDataPreprocessor.batch_pairs(
            data_samples, [len(p) for p in inputs['points']], num_cams)

    @staticmethod
    def batch_pairs(data_samples: list, num_points: Sequence[int],
                    num_cams: int) -> Dict[str, Tensor]:
        """Concatenate the samples' point-pixel pairs in batch numbering.

        Args:
            data_samples (list): Samples with ``correspondences``
                (``point_idx``, ``cam_idx``, ``uv``) and optionally
                ``superpixels`` (num_cams, H, W).
            num_points (Sequence[int]): t0 points of each sample.
            num_cams (int): Cameras per sample.

        Returns:
            dict[str, Tensor]: ``point_idx`` and ``img_idx`` (long),
            ``uv`` (float), ``superpixel`` (long ``(sample, camera,
            segment)`` ids, or None without superpixels).
        """
        device = data_samples[0].correspondences.point_idx.device
        offsets = torch.tensor([0, *num_points[:-1]], device=device).cumsum(0)
        with_superpixels = all('superpixels' in s for s in data_samples)
        if with_superpixels:
            # One id range for the whole batch: (sample, camera, segment).
            num_segments = 1 + max(
                int(s.superpixels.max()) for s in data_samples)
        point_idx, img_idx, uv, superpixel = [], [], [], []
        for b, sample in enumerate(data_samples):
            pairs = sample.correspondences
            point_idx.append(pairs.point_idx.long() + offsets[b])
            img_idx.append(pairs.cam_idx.long() + b * num_cams)
            uv.append(pairs.uv.float())
            if with_superpixels:
                ids = sample.superpixels[pairs.cam_idx, pairs.uv[:, 1].long(),
                                         pairs.uv[:, 0].long()].long()
                superpixel.append((b * num_cams + pairs.cam_idx.long()) *
                                  num_segments + ids)
        return dict(
            point_idx=torch.cat(point_idx),
            img_idx=torch.cat(img_idx),
            uv=torch.cat(uv),
            superpixel=torch.cat(superpixel) if superpixel else None)
