# Copyright (c) HilDA authors. All rights reserved.
from typing import Dict, List, Tuple

import torch
from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList
from torch import Tensor
from torch.nn import functional as F

from .voxelization import voxelize_for_sparse_encoder


def unique_voxels(coors: Tensor) -> Tuple[Tensor, Tensor]:
    """Deduplicate integer voxel coordinates on their own device.

    Args:
        coors (Tensor): (N, D) integer voxel coordinates of N points.

    Returns:
        tuple[Tensor, Tensor]: ``first`` (M,), the index of the first point
        of each of the M voxels (voxels sorted lexicographically), and
        ``point2voxel`` (N,), the voxel of each point.
    """
    _, point2voxel = torch.unique(coors, dim=0, return_inverse=True)
    num_voxels = int(point2voxel.max()) + 1 if point2voxel.numel() else 0
    order = torch.arange(point2voxel.numel(), device=coors.device)
    first = torch.full((num_voxels, ),
                       point2voxel.numel(),
                       dtype=torch.long,
                       device=coors.device)
    first.scatter_reduce_(0, point2voxel, order, reduce='amin')
    return first, point2voxel


@MODELS.register_module()
class HilDADataPreprocessor(Det3DDataPreprocessor):
    """Det3DDataPreprocessor whose MinkUNet voxelisation runs on any device.

    mmdet3d's ``voxel_type='minkunet'`` path quantises with numpy and moves
    the result to CUDA unconditionally, so it cannot run on CPU. Here the
    quantisation stays on the points' device (``torch.unique``); every other
    voxel type and the image normalisation are mmdet3d's own.

    With ``max_voxels`` set and more voxels than that during training, a
    random subset of voxels is kept; points whose voxel was dropped get
    ``point2voxel_map == -1`` instead of a silently wrong index.

    ``voxel_type='sparse_encoder'`` voxelises for a SECOND/CenterPoint
    ``SparseEncoder`` student (:class:`PointSparseEncoder`): mean point
    features on the fixed grid of ``voxel_layer`` (``point_cloud_range``,
    ``voxel_size``), ``(b, z, y, x)`` coordinates and the per-point
    ``point2voxel_map`` (-1 outside the range), on any device.

    Args are those of :class:`mmdet3d.models.Det3DDataPreprocessor`.
    """

    @torch.no_grad()
    def voxelize(self, points: List[Tensor],
                 data_samples: SampleList) -> Dict[str, Tensor]:
        """Voxelise a batch; see :meth:`Det3DDataPreprocessor.voxelize`."""
        if self.voxel_type == 'sparse_encoder':
            out = voxelize_for_sparse_encoder(
                points, self.voxel_layer.point_cloud_range,
                self.voxel_layer.voxel_size)
            for sample, point2voxel in zip(data_samples, out['point2voxel']):
                sample.point2voxel_map = point2voxel
            return dict(voxels=out['voxels'], coors=out['coors'])
        if self.voxel_type != 'minkunet':
            return super().voxelize(points, data_samples)

        voxels, coors = [], []
        voxel_size = points[0].new_tensor(self.voxel_layer.voxel_size)
        for i, (res, data_sample) in enumerate(zip(points, data_samples)):
            res_coors = torch.round(res[:, :3] / voxel_size).int()
            res_coors -= res_coors.min(0)[0]
            inds, point2voxel = unique_voxels(res_coors)
            if (self.training and self.max_voxels is not None
                    and len(inds) > self.max_voxels):
                keep = torch.randperm(
                    len(inds), device=inds.device)[:self.max_voxels]
                keep = keep.sort()[0]
                remap = inds.new_full((len(inds), ), -1)
                remap[keep] = torch.arange(len(keep), device=inds.device)
                point2voxel = remap[point2voxel]
                inds = inds[keep]
            if ('gt_pts_seg' in data_sample
                    and 'pts_semantic_mask' in data_sample.gt_pts_seg):
                gt_pts_seg = data_sample.gt_pts_seg
                gt_pts_seg.voxel_semantic_mask = \
                    gt_pts_seg.pts_semantic_mask[inds]
            res_voxel_coors = res_coors[inds]
            if self.batch_first:
                res_voxel_coors = F.pad(res_voxel_coors, (1, 0), value=i)
                data_sample.batch_idx = res_voxel_coors[:, 0]
            else:
                res_voxel_coors = F.pad(res_voxel_coors, (0, 1), value=i)
                data_sample.batch_idx = res_voxel_coors[:, -1]
            data_sample.point2voxel_map = point2voxel.long()
            voxels.append(res[inds])
            coors.append(res_voxel_coors)
        return dict(voxels=torch.cat(voxels), coors=torch.cat(coors))
