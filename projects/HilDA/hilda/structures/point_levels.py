# Copyright (c) HilDA authors. All rights reserved.
"""Student features at the points: the one structure every consumer reads.

A sparse student returns its stages as :class:`SparseLevel` (voxel features
and coordinates); the backbone's ``point_levels`` maps them back to the
points as :class:`PointLevels`, which the distillation head, the global
token, BEV pooling and the pre-trainer take. Gathering is left to them, so
each reads only the rows it needs.
"""
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

IntTriple = Tuple[int, int, int]


class SparseLevel(NamedTuple):
    """One stage of a sparse network, independent of the backend.

    Attributes:
        feats (Tensor): (M_l, C_l) voxel features.
        coors (Tensor): (M_l, 4) int voxel coordinates, batch index first,
            then the spatial columns in the backbone's own order ((x, y, z)
            for MinkUNet, (z, y, x) for SparseEncoder), in units of this
            stage's voxels.
        stride (tuple[int]): Stride of the stage w.r.t. the input voxels,
            per spatial column.
    """
    feats: Tensor
    coors: Tensor
    stride: IntTriple


class PointLevels:
    """Where each point's feature lives at several stages, not gathered yet.

    Gathering (N, C_l) point features for every stage and every point costs
    time and memory in forward and backward; a loss that needs only some
    points (the point-pixel pairs) or one stage (the last, for BEV pooling)
    gathers just those rows with :meth:`gather`.

    Attributes:
        feats (list[Tensor]): Per stage, (M_l, C_l) voxel features.
        index (list[Tensor]): Per stage, (N,) long row of each point in
            ``feats[l]``; -1 where the point has no feature at that stage.
    """

    def __init__(self, feats: Sequence[Tensor],
                 index: Sequence[Tensor]) -> None:
        if len(feats) != len(index):
            raise ValueError(f'{len(feats)} stages of features but '
                             f'{len(index)} point indices')
        self.feats = list(feats)
        self.index = list(index)

    @classmethod
    def from_point_feats(cls, feats: Sequence[Tensor]) -> 'PointLevels':
        """Wrap already gathered (N, C_l) point features (every row
        valid)."""
        index = [torch.arange(len(f), device=f.device) for f in feats]
        return cls(list(feats), index)

    @classmethod
    def cat(cls, parts: Sequence['PointLevels']) -> 'PointLevels':
        """The points of ``parts`` one after another, for the same stages
        computed in separate passes (e.g. t0 with gradients, t-1 without):
        each part's voxel rows follow those of the parts before it."""
        if len({len(p) for p in parts}) != 1:
            raise ValueError(
                'PointLevels.cat needs parts with the same number of '
                f'stages, got {[len(p) for p in parts]}')
        feats, index = [], []
        for level in range(len(parts[0])):
            offset = 0
            shifted = []
            for part in parts:
                i = part.index[level]
                shifted.append(torch.where(i >= 0, i + offset, i))
                offset += len(part.feats[level])
            feats.append(torch.cat([p.feats[level] for p in parts]))
            index.append(torch.cat(shifted))
        return cls(feats, index)

    def __len__(self) -> int:
        return len(self.feats)

    def valid(self, level: int) -> Tensor:
        """(N,) bool: the points with a feature at stage ``level``."""
        return self.index[level] >= 0

    def select(self, rows: Union[slice, Tensor]) -> 'PointLevels':
        """The same stages for a subset of the points."""
        return PointLevels(self.feats, [i[rows] for i in self.index])

    def gather(self,
               level: int,
               rows: Optional[Union[slice, Tensor]] = None,
               fn: Optional[Callable[[Tensor], Tensor]] = None) -> Tensor:
        """Features of stage ``level`` at the points ``rows`` (all points
        when None); zero rows where a point has no feature.

        Args:
            level (int): The stage.
            rows (slice | Tensor, optional): Points to gather (indices or
                bool mask).
            fn (callable, optional): A row-wise map (e.g. a linear or MLP
                projection head) applied to the gathered rows. It runs
                once per distinct voxel of the rows (points that share a
                voxel share its feature): the same result for less work.

        Returns:
            Tensor: (R, C_l) or (R, fn's channels).
        """
        if fn is not None:
            voxel_feats, inverse = self.gather_grouped(level, rows, fn)
            return voxel_feats.index_select(0, inverse)
        feats, index = self._source(level, rows)
        # index_select: its backward is an index_add, several times faster
        # on CPU than the accumulating index_put of advanced indexing.
        return feats.index_select(0, index)

    def gather_grouped(
        self,
        level: int,
        rows: Optional[Union[slice, Tensor]] = None,
        fn: Optional[Callable[[Tensor],
                              Tensor]] = None) -> Tuple[Tensor, Tensor]:
        """The distinct voxels of the points ``rows`` at stage ``level``
        and the row of each point among them: ``gather(level, rows, fn)``
        is ``feats[inverse]``. A loss that can work per voxel (e.g. the
        cosine distance, whose sum over a voxel's pairs is one dot product
        with the sum of their unit targets) never expands to the points.

        Args:
            level (int): The stage.
            rows (slice | Tensor, optional): Points (indices or bool mask);
                all when None.
            fn (callable, optional): A row-wise map applied to the voxels'
                features.

        Returns:
            tuple[Tensor, Tensor]: (V, C) features of the voxels (through
            ``fn``; a zero row, through ``fn``, stands for the points
            without a feature) and (R,) long row of each point in them.
        """
        feats, index = self._source(level, rows)
        voxels, inverse = torch.unique(index, return_inverse=True)
        voxel_feats = feats.index_select(0, voxels)
        return (voxel_feats if fn is None else fn(voxel_feats)), inverse

    def _source(self, level: int,
                rows: Optional[Union[slice, Tensor]]) -> Tuple[Tensor, Tensor]:
        """Stage ``level``'s voxel features and the rows of the points in
        them, with a zero row appended for the points without a feature
        when there are any (no mask pass over the gathered rows, nor its
        backward)."""
        feats = self.feats[level]
        index = self.index[level] if rows is None else self.index[level][rows]
        missing = index < 0
        if bool(missing.any()):
            index = torch.where(missing, index.new_tensor(len(feats)), index)
            feats = torch.cat([feats, feats.new_zeros((1, feats.shape[1]))])
        return feats, index

    def gather_all(self) -> Tuple[List[Tensor], List[Tensor]]:
        """(N, C_l) features and (N,) validity of every stage."""
        return ([self.gather(i) for i in range(len(self))],
                [self.valid(i) for i in range(len(self))])
