# Copyright (c) HilDA authors. All rights reserved.
"""The voxels of one PTv3 stage, what its blocks read and write."""
from typing import Dict, Optional

import torch
from spconv.pytorch import SparseConvTensor
from torch import Tensor

from ..utils.serialization import PatchLayout, Serialization, patch_layout


class SerializedPoints:
    """Voxel features of one stage with their serialization.

    The blocks of a stage share the voxels, their curve orders, the patch
    layouts and the sparse-conv neighbourhoods (spconv caches them in the
    ``indice_dict`` of :attr:`sparse`, shared by every tensor made from it
    with ``replace_feature``); only :attr:`feats` changes from block to
    block.

    Args:
        feats (Tensor): (M, C) voxel features.
        coors (Tensor): (M, 4) int voxel coordinates of this stage, batch
            first, then (x, y, z) in units of this stage's voxels.
        serialization (Serialization): The voxels' curve orders.
        sparse (SparseConvTensor): The voxels as a spconv tensor (its
            features are replaced before every sparse conv).
        stride (int): The stage's voxel size in input voxels.
    """

    def __init__(self, feats: Tensor, coors: Tensor,
                 serialization: Serialization, sparse: SparseConvTensor,
                 stride: int) -> None:
        self.feats = feats
        self.coors = coors
        self.serialization = serialization
        self.sparse = sparse
        self.stride = stride
        self._layouts: Dict[int, PatchLayout] = {}

    def with_feats(self, feats: Tensor) -> 'SerializedPoints':
        """The same voxels (orders, layouts, neighbourhoods) with other
        features."""
        other = SerializedPoints(feats, self.coors, self.serialization,
                                 self.sparse, self.stride)
        other._layouts = self._layouts
        return other

    def sparse_with(self, feats: Optional[Tensor] = None) -> SparseConvTensor:
        """:attr:`sparse` holding ``feats`` (default :attr:`feats`)."""
        return self.sparse.replace_feature(self.feats if feats is
                                           None else feats)

    def patch_layout(self, patch_size: int) -> PatchLayout:
        """The stage's patches of ``patch_size`` (computed once)."""
        if patch_size not in self._layouts:
            counts = torch.bincount(
                self.coors[:, 0].long(), minlength=self.sparse.batch_size)
            self._layouts[patch_size] = patch_layout(counts, patch_size)
        return self._layouts[patch_size]
