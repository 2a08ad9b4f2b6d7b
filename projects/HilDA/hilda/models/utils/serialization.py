# Copyright (c) HilDA authors. All rights reserved.
"""Serialization of voxels by space-filling curves (Point Transformer V3).

PTv3 (Wu et al., CVPR 2024) orders the voxels of a scan along a
space-filling curve so that neighbours in the sequence are neighbours in
space, then attends within fixed-size patches of that sequence. Four
orders are used: the z-order (Morton) curve and the Hilbert curve, each on
``(x, y, z)`` and on the transposed ``(y, x, z)`` grid.

Every curve here maps a cube of ``2**depth`` cells per side to the codes
``0 .. 8**depth - 1``, one per cell. The batch index goes above the
spatial bits, so the samples of a batch follow each other in every order.
All functions are vectorised over the voxels; the loops run over bits and
axes only.
"""
from typing import List, NamedTuple, Sequence

import torch
from torch import Tensor

ORDERS = ('z', 'z-trans', 'hilbert', 'hilbert-trans')
# int64 holds 63 non-negative bits: 3 * depth spatial bits + the batch.
MAX_DEPTH = 16


def z_order_encode(coords: Tensor, depth: int) -> Tensor:
    """Morton code of integer cells: the bits of x, y, z interleaved.

    Bit ``i`` of x goes to code bit ``3 * i + 2``, of y to ``3 * i + 1``, of
    z to ``3 * i`` (x most significant within each level).

    Args:
        coords (Tensor): (N, 3) non-negative integer cells below
            ``2**depth``.
        depth (int): Bits per axis.

    Returns:
        Tensor: (N,) int64 codes.
    """
    coords = coords.long()
    code = torch.zeros(len(coords), dtype=torch.long, device=coords.device)
    for i in range(depth):
        for axis in range(3):
            bit = (coords[:, axis] >> i) & 1
            code |= bit << (3 * i + 2 - axis)
    return code


def hilbert_encode(coords: Tensor, depth: int) -> Tensor:
    """Hilbert code of integer cells (Skilling's transpose algorithm).

    J. Skilling, "Programming the Hilbert curve", AIP Conf. Proc. 707
    (2004): the cell's axes are turned, level by level from the most
    significant bit, into the "transposed" Hilbert index, whose bits are
    then interleaved as in :func:`z_order_encode` (axis 0 most significant).
    Consecutive codes are face-adjacent cells.

    Args:
        coords (Tensor): (N, 3) non-negative integer cells below
            ``2**depth``.
        depth (int): Bits per axis.

    Returns:
        Tensor: (N,) int64 codes.
    """
    x = [coords[:, axis].long().clone() for axis in range(3)]
    # Inverse undo of the rotations/reflections, from the top bit down.
    q = 1 << (depth - 1)
    while q > 1:
        p = q - 1
        for i in range(3):
            high = (x[i] & q) != 0
            # Bit set: invert the low bits of axis 0.
            x0_inverted = x[0] ^ p
            # Bit clear: exchange the low bits of axis 0 and axis i.
            t = (x[0] ^ x[i]) & p
            x0_exchanged = x[0] ^ t
            xi_exchanged = x[i] ^ t
            if i == 0:
                x[0] = torch.where(high, x0_inverted, x[0])
            else:
                x[i] = torch.where(high, x[i], xi_exchanged)
                x[0] = torch.where(high, x0_inverted, x0_exchanged)
        q >>= 1
    # Gray encode.
    for i in range(1, 3):
        x[i] = x[i] ^ x[i - 1]
    t = torch.zeros_like(x[0])
    q = 1 << (depth - 1)
    while q > 1:
        t = torch.where((x[2] & q) != 0, t ^ (q - 1), t)
        q >>= 1
    x = [xi ^ t for xi in x]
    return z_order_encode(torch.stack(x, 1), depth)


def encode(coords: Tensor, batch: Tensor, depth: int, order: str) -> Tensor:
    """Code of each voxel along the curve ``order``, batch index on top.

    Args:
        coords (Tensor): (N, 3) non-negative integer cells below
            ``2**depth``, in (x, y, z) order.
        batch (Tensor): (N,) sample index of each cell.
        depth (int): Bits per axis (at most :data:`MAX_DEPTH`).
        order (str): One of :data:`ORDERS`; ``*-trans`` swaps x and y.

    Returns:
        Tensor: (N,) int64 codes; cells of sample ``b`` come before those
        of sample ``b + 1``.
    """
    if order not in ORDERS:
        raise ValueError(f'unknown serialization order {order!r}; choose '
                         f'from {ORDERS}')
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f'serialization depth must be in [1, {MAX_DEPTH}], '
                         f'got {depth} (grid too large for int64 codes)')
    if order.endswith('-trans'):
        coords = coords[:, [1, 0, 2]]
    curve = z_order_encode if order.startswith('z') else hilbert_encode
    return batch.long() << (3 * depth) | curve(coords, depth)


def grid_depth(coords: Tensor) -> int:
    """Bits per axis that hold every cell of ``coords`` (at least 1)."""
    if coords.numel() == 0:
        return 1
    return max(1, int(coords.max()).bit_length())


class Serialization(NamedTuple):
    """The voxels of a batch in several curve orders.

    Attributes:
        codes (Tensor): (K, N) int64 curve codes, one row per order.
        order (Tensor): (K, N) long: ``order[k, j]`` is the voxel at
            position ``j`` of order ``k``.
        inverse (Tensor): (K, N) long: the position of each voxel in each
            order (``order[k][inverse[k]] == arange(N)``).
        names (tuple[str]): The curve of each row.
    """
    codes: Tensor
    order: Tensor
    inverse: Tensor
    names: tuple

    def permute(self, perm: Sequence[int]) -> 'Serialization':
        """The same orders, rows rearranged (``perm[k]``: old row of the new
        row ``k``)."""
        perm = list(perm)
        return Serialization(self.codes[perm], self.order[perm],
                             self.inverse[perm],
                             tuple(self.names[k] for k in perm))


def serialize(coors: Tensor, orders: Sequence[str]) -> Serialization:
    """Sort the voxels of a batch along each curve of ``orders``.

    Codes are unique per voxel (one code per cell and sample), so the sort
    does not depend on the order the voxels come in.

    Args:
        coors (Tensor): (N, 4) integer voxel coordinates, batch first then
            (x, y, z), non-negative.
        orders (Sequence[str]): Curves (see :data:`ORDERS`).

    Returns:
        Serialization: codes, orders and inverse orders.
    """
    coors = coors.long()
    depth = grid_depth(coors[:, 1:])
    batch = coors[:, 0]
    codes: List[Tensor] = [
        encode(coors[:, 1:], batch, depth, o) for o in orders
    ]
    codes = torch.stack(codes) if codes else coors.new_zeros((0, len(coors)))
    order = torch.argsort(codes, dim=1)
    positions = torch.arange(len(coors), device=coors.device)
    inverse = torch.empty_like(order).scatter_(
        1, order,
        positions.expand_as(order).contiguous())
    return Serialization(codes, order, inverse, tuple(orders))


class PatchLayout(NamedTuple):
    """Serialized voxels cut into patches of ``patch_size``, per sample.

    Each sample's sequence is padded at its end to a multiple of the patch
    size, so no patch holds two samples; the padded entries are masked out
    of attention (:class:`SerializedAttention`).

    Attributes:
        slot (Tensor): (N,) long: the padded-sequence slot of each position
            of a serialized order (the same for every order: the samples
            have the same sizes in all of them).
        patch_size (int): Entries per patch.
        num_patches (int): Patches in the batch.
        full (Tensor): Indices of the patches without padding.
        partial (Tensor): Indices of the patches with padding.
        partial_mask (Tensor): (len(partial), patch_size) bool, True at the
            real entries of the partial patches.
    """
    slot: Tensor
    patch_size: int
    num_patches: int
    full: Tensor
    partial: Tensor
    partial_mask: Tensor


def patch_layout(counts: Tensor, patch_size: int) -> PatchLayout:
    """Cut per-sample serialized sequences into patches.

    The patch size is ``patch_size``, or the largest sample's size when all
    samples are smaller (the attention is the same; the padding shorter).

    Args:
        counts (Tensor): (B,) voxels of each sample (the samples follow each
            other in every serialized order).
        patch_size (int): The largest number of entries per patch.

    Returns:
        PatchLayout: where each position goes and which patches are padded.
    """
    counts = counts.long()
    device = counts.device
    k = max(1, min(int(patch_size), int(counts.max()) if len(counts) else 1))
    padded = (counts + k - 1) // k * k
    start = torch.cumsum(counts, 0) - counts
    padded_start = torch.cumsum(padded, 0) - padded
    sample = torch.repeat_interleave(
        torch.arange(len(counts), device=device), counts)
    position = torch.arange(int(counts.sum()), device=device)
    slot = position - start[sample] + padded_start[sample]
    total = int(padded.sum())
    valid = torch.zeros(total, dtype=torch.bool, device=device)
    valid[slot] = True
    valid = valid.view(total // k, k)
    is_full = valid.all(1)
    partial = torch.nonzero(~is_full).flatten()
    return PatchLayout(slot, k, total // k,
                       torch.nonzero(is_full).flatten(), partial,
                       valid[partial])
