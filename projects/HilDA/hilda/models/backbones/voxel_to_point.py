# Copyright (c) HilDA authors. All rights reserved.
"""Map the voxels of a sparse-conv network's stages back to the points.

A stage of a sparse UNet/encoder holds voxels at some stride. A point (or
the input voxel it fell into) belongs to the stage-``l`` voxel reached by
following the strided convolutions between the input and stage ``l``.

For one strided sparse convolution (kernel ``k``, stride ``s``, padding
``p``, dilation ``d``) spconv sends input index ``i`` to every output ``o``
with ``s * o - p <= i <= s * o - p + d * (k - 1)`` and ``0 <= o < out``
(verified against spconv in the tests). HilDA picks the geometric cell
``o = i // s`` (the convention of BEV heads' ``out_size_factor``), clamped
into that range; when the range is empty spconv dropped the input (it lies
on the odd border of a ``padding=0`` convolution) and the point has no
feature at that stage. For MinkUNet's ``kernel=2, stride=2, padding=0``
convolutions this is exactly ``c // stride``.

Lookups hash integer coordinates to int64 and use sort + searchsorted: no
Python loop over points or voxels.
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


class ConvGeometry(NamedTuple):
    """Geometry of one strided sparse convolution, per spatial column."""
    kernel_size: IntTriple
    stride: IntTriple
    padding: IntTriple
    dilation: IntTriple = (1, 1, 1)

    def out_shape(self, in_shape: Sequence[int]) -> IntTriple:
        """Output grid extent, as spconv computes it."""
        return tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip(in_shape, self.kernel_size, self.stride,
                                     self.padding, self.dilation))


def _triple(value: Union[int, Sequence[int]]) -> IntTriple:
    if isinstance(value, int):
        return (value, ) * 3
    return tuple(int(v) for v in value)


def strided_conv_geometries(module: torch.nn.Module) -> List[ConvGeometry]:
    """The strided (non-submanifold, non-inverse) sparse convs in a module.

    Works for spconv 2.x and mmcv's spconv 1.x modules, in the order they
    are registered (their execution order in mmdet3d's sparse blocks).
    """
    geometries = []
    for m in module.modules():
        if not all(
                hasattr(m, a)
                for a in ('subm', 'kernel_size', 'stride', 'padding')):
            continue
        if m.subm or getattr(m, 'inverse', False) or getattr(
                m, 'transposed', False):
            continue
        geometries.append(
            ConvGeometry(
                _triple(m.kernel_size), _triple(m.stride), _triple(m.padding),
                _triple(getattr(m, 'dilation', 1))))
    return geometries


def conv_output_coors(
        coors: Tensor,
        geometry: ConvGeometry,
        out_shape: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
    """Output voxel of a strided sparse conv that each input voxel feeds.

    Args:
        coors (Tensor): (M, 4) integer coordinates, batch first.
        geometry (ConvGeometry): The convolution.
        out_shape (Sequence[int], optional): Output grid extent; None means
            unbounded (torchsparse).

    Returns:
        tuple[Tensor, Tensor]: (M, 4) long output coordinates and (M,) bool
        ``valid``: False where the convolution reaches no output (spconv
        drops the input there).
    """
    # Only dilation 1 (every mmdet3d sparse backbone): with a larger one
    # the receptive field has holes and i // s may not be reached.
    assert all(v == 1 for v in geometry.dilation), 'dilation must be 1'
    spatial = coors[:, 1:].long()
    k = spatial.new_tensor(geometry.kernel_size)
    s = spatial.new_tensor(geometry.stride)
    p = spatial.new_tensor(geometry.padding)
    d = spatial.new_tensor(geometry.dilation)
    # Outputs whose receptive field [s*o - p, s*o - p + d*(k-1)] holds i.
    low = torch.div(
        spatial + p - d * (k - 1) + s - 1, s, rounding_mode='floor')
    low = low.clamp(min=0)
    high = torch.div(spatial + p, s, rounding_mode='floor')
    if out_shape is not None:
        high = torch.minimum(high, spatial.new_tensor(list(out_shape)) - 1)
    out = torch.div(spatial, s, rounding_mode='floor')
    out = torch.maximum(torch.minimum(out, high), low)
    valid = (low <= high).all(1)
    return torch.cat([coors[:, :1].long(), out], 1), valid


def coors_to_keys(*coors: Tensor) -> List[Tensor]:
    """Hash integer coordinate rows to int64 keys, consistently across inputs.

    Args:
        *coors (Tensor): (M_i, D) integer coordinates (same D).

    Returns:
        list[Tensor]: (M_i,) int64 keys; equal rows get equal keys.
    """
    both = torch.cat([c.long() for c in coors])
    if both.numel() == 0:
        return [c.new_zeros(len(c), dtype=torch.long) for c in coors]
    low = both.min(0).values
    extent = both.max(0).values - low + 1
    # Row-major mixed radix over the columns' ranges: collision free as
    # long as the product of the extents fits in int64.
    total = 1
    for e in extent.tolist():
        total *= e
    assert total < 2**62, 'coordinate ranges too large to hash in int64'
    radix = torch.ones_like(extent)
    for j in range(len(extent) - 2, -1, -1):
        radix[j] = radix[j + 1] * extent[j + 1]
    return [((c.long() - low) * radix).sum(1) for c in coors]


def match_coors(query: Tensor, table: Tensor) -> Tensor:
    """Row index in ``table`` of each row of ``query`` (-1 when absent).

    Args:
        query (Tensor): (Q, D) integer coordinates.
        table (Tensor): (T, D) integer coordinates, rows unique.

    Returns:
        Tensor: (Q,) long indices into ``table``.
    """
    if len(table) == 0 or len(query) == 0:
        return query.new_full((len(query), ), -1, dtype=torch.long)
    query_keys, table_keys = coors_to_keys(query, table)
    sorted_keys, order = table_keys.sort()
    pos = torch.searchsorted(sorted_keys, query_keys).clamp(max=len(table) - 1)
    found = sorted_keys[pos] == query_keys
    return torch.where(found, order[pos], torch.full_like(pos, -1))


def map_coors_to_level(coors: Tensor,
                       level: SparseLevel,
                       geometries: Sequence[ConvGeometry],
                       in_shape: Optional[Sequence[int]] = None) -> Tensor:
    """Index of the ``level`` voxel each input-resolution voxel belongs to.

    Args:
        coors (Tensor): (M, 4) coordinates at the input resolution, batch
            first. Rows with a negative batch index are ignored (-1).
        level (SparseLevel): The target stage.
        geometries (Sequence[ConvGeometry]): The strided convolutions
            between the input and the stage, in execution order.
        in_shape (Sequence[int], optional): Input grid extent (None:
            unbounded, e.g. torchsparse).

    Returns:
        Tensor: (M,) long row indices into ``level.coors``, -1 where the
        voxel has no feature at that stage.
    """
    valid = coors[:, 0] >= 0
    coors = coors.long()
    shape = None if in_shape is None else tuple(int(n) for n in in_shape)
    for geometry in geometries:
        shape = None if shape is None else geometry.out_shape(shape)
        coors, ok = conv_output_coors(coors, geometry, shape)
        valid &= ok
    index = match_coors(coors, level.coors)
    return torch.where(valid, index, torch.full_like(index, -1))


def batch_point2voxel(point2voxel: Union[Tensor, Sequence[Tensor]],
                      voxel_coors: Tensor) -> Tensor:
    """Concatenate per-sample point-to-voxel maps into batch indices.

    Args:
        point2voxel (Tensor | Sequence[Tensor]): Either one (N,) long tensor
            of indices into the batch's voxels, or one (N_i,) tensor per
            sample of indices into that sample's voxels (what
            ``HilDADataPreprocessor`` stores as
            ``data_sample.point2voxel_map``). -1 marks a point without voxel.
        voxel_coors (Tensor): (M, 4) batch-first voxel coordinates, samples
            stored one after the other (as the data preprocessors do).

    Returns:
        Tensor: (N_total,) long indices into the batch's voxels, -1 kept.
    """
    if isinstance(point2voxel, Tensor):
        return point2voxel.long()
    counts = torch.bincount(
        voxel_coors[:, 0].long(), minlength=len(point2voxel))
    offsets = torch.cumsum(counts, 0) - counts
    maps = []
    for i, local in enumerate(point2voxel):
        local = local.long().to(voxel_coors.device)
        maps.append(torch.where(local >= 0, local + offsets[i], local))
    return torch.cat(maps) if maps else voxel_coors.new_zeros(
        0, dtype=torch.long)


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
        feats = self.feats[level]
        index = self.index[level] if rows is None else self.index[level][rows]
        # -1 -> an appended zero row: zeros where the point has no voxel,
        # without a mask pass over the gathered rows (and its backward).
        index = torch.where(index >= 0, index, index.new_tensor(len(feats)))
        feats = torch.cat([feats, feats.new_zeros((1, feats.shape[1]))])
        if fn is None:
            return feats[index]
        voxels, inverse = torch.unique(index, return_inverse=True)
        return fn(feats[voxels])[inverse]

    def gather_all(self) -> Tuple[List[Tensor], List[Tensor]]:
        """(N, C_l) features and (N,) validity of every stage."""
        return ([self.gather(i) for i in range(len(self))],
                [self.valid(i) for i in range(len(self))])


def map_points_to_levels(
        levels: Sequence[SparseLevel],
        level_geometries: Sequence[Sequence[ConvGeometry]],
        voxel_coors: Tensor,
        points: Union[Tensor, Sequence[Tensor]],
        in_shape: Optional[Sequence[int]] = None) -> PointLevels:
    """The voxel of each point at several stages.

    Args:
        levels (Sequence[SparseLevel]): The stages, in any order; the
            output keeps it.
        level_geometries (Sequence[Sequence[ConvGeometry]]): For each stage,
            the strided convolutions from the input to it.
        voxel_coors (Tensor): (M, 4) input voxel coordinates, batch first.
        points: How the points find their voxel, either

            - point-to-voxel indices: one (N,) tensor into the batch's
              voxels or a sequence of per-sample (N_i,) tensors into each
              sample's voxels (-1: point without voxel), or
            - point voxel coordinates: one (N, 4) batch-first tensor or a
              sequence of per-sample (N_i, 4) tensors, or (N_i, 3) spatial
              ones (the batch index is then the position in the sequence).
              A negative batch index marks a point without voxel.
        in_shape (Sequence[int], optional): Input grid extent.

    Returns:
        PointLevels: the stages' voxel features and, per stage, the
        (N_total,) row of each point (-1 where it has none).
    """
    if not isinstance(points, Tensor):
        points = list(points)
    as_coors = (
        points.dim() == 2 if isinstance(points, Tensor) else len(points) > 0
        and points[0].dim() == 2)
    if as_coors:
        if not isinstance(points, Tensor):
            points = torch.cat([
                p if p.shape[1] == 4 else torch.cat(
                    [p.new_full((len(p), 1), i), p], 1)
                for i, p in enumerate(points)
            ])
        query = points.to(voxel_coors.device)
        point_index = None
    else:
        query = voxel_coors
        point_index = batch_point2voxel(points, voxel_coors)

    indices = []
    for level, geometries in zip(levels, level_geometries):
        index = map_coors_to_level(query, level, geometries, in_shape)
        if point_index is not None:
            # Map the M voxels once, then look up for the N >> M points.
            index = torch.where(point_index >= 0,
                                index[point_index.clamp(min=0)],
                                torch.full_like(point_index, -1))
        indices.append(index)
    return PointLevels([level.feats for level in levels], indices)


class PointFeaturesMixin:
    """``points_features`` for a student that implements ``point_levels``
    (``(out, points, num_levels) -> PointLevels``)."""

    def points_features(
        self,
        out: dict,
        points: Union[Tensor, Sequence[Tensor]],
        num_levels: Optional[int] = None,
        return_valid: bool = False
    ) -> Union[List[Tensor], Tuple[List[Tensor], List[Tensor]]]:
        """Features of the last ``num_levels`` stages at the points.

        Args:
            out (dict): The student's forward output.
            points (Tensor | Sequence[Tensor]): As for
                :meth:`point_levels`.
            num_levels (int, optional): Defaults to ``self.num_levels``.
            return_valid (bool): Also return the validity masks.

        Returns:
            list[Tensor] | tuple[list[Tensor], list[Tensor]]: (N_total, C_l)
            features in :meth:`point_levels` order (zeros where a point has
            no feature), and optionally (N,) bool masks.
        """
        feats, valids = self.point_levels(out, points, num_levels).gather_all()
        return (feats, valids) if return_valid else feats
