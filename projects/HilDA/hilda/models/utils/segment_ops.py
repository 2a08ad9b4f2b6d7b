# Copyright (c) HilDA authors. All rights reserved.
"""Reductions within the segments (samples) of a batch of rows."""
from typing import Callable

import torch
from torch import Tensor


def segment_softmax(scores: Tensor, segment: Tensor,
                    num_segments: int) -> Tensor:
    """Softmax of (M, H) scores within each segment (sample) of the batch.
    """
    index = segment.unsqueeze(1).expand_as(scores)
    peak = scores.new_full((num_segments, scores.shape[1]), -torch.inf)
    peak = peak.scatter_reduce(0, index, scores, reduce='amax')
    exp = (scores - peak[segment]).exp()
    total = exp.new_zeros(peak.shape).index_add_(0, segment, exp)
    return exp / total[segment]


def segment_max(feats: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """Channel-wise max of (M, C) rows within each segment: (S, C).

    The gradient goes to the rows that hold the maximum. A segment without
    rows gives zeros.
    """
    index = segment.unsqueeze(1).expand_as(feats)
    out = feats.new_full((num_segments, feats.shape[1]), -torch.inf)
    out = out.scatter_reduce(0, index, feats, reduce='amax')
    return torch.where(torch.isinf(out), torch.zeros_like(out), out)


def rowwise_map_segment_max(fn: Callable[[Tensor], Tensor],
                            feats: Tensor,
                            segment: Tensor,
                            num_segments: int,
                            chunk_rows: int = 2048) -> Tensor:
    """``segment_max(fn(feats), segment, num_segments)`` at a fraction of
    the cost.

    The max sends gradient only to the row that holds each (segment,
    channel) maximum, so the autograd graph of ``fn`` is needed on those
    rows alone: ``fn`` runs on every row without gradient to find them,
    then again, with gradient, on the rows that hold a maximum only (at
    most ``num_segments`` x channels of them, usually far fewer). Value and
    gradient equal the plain composition's, ties included, as long as
    ``fn`` gives a row the same output whatever rows it is batched with
    (else up to float rounding).

    The search runs over blocks of at most ``chunk_rows`` rows of one
    segment, so ``fn``'s output is never held for all rows: for a wide head
    (H_CLS maps into the teacher's 1,280 or 768 channels) a (rows,
    channels) buffer is tens of MB, which on a CPU costs more in memory
    traffic and fresh pages than the matrix product that fills it. A row
    holds a segment's maximum in a channel exactly when it holds its
    block's maximum there and the block's maximum is the segment's, so
    each block keeps only its maxima and which of its rows hold them.

    Args:
        fn (callable): A row-wise map, e.g. an MLP head (no layer that
            mixes rows, such as BatchNorm in training mode).
        feats (Tensor): (M, C) rows.
        segment (Tensor): (M,) long segment of each row.
        num_segments (int): S.
        chunk_rows (int): Rows per block of the search.

    Returns:
        Tensor: (S, D); a segment without rows gives zeros.
    """
    if not torch.is_grad_enabled() or len(feats) == 0:
        return segment_max(fn(feats), segment, num_segments)
    with torch.no_grad():
        order = torch.argsort(segment, stable=True)
        counts = torch.bincount(segment, minlength=num_segments).tolist()
        winners = []
        for rows in torch.split(order, counts):
            if not len(rows):
                continue
            # Per block: its (D,) maxima, the rows holding one, and which
            # channels each of those rows holds.
            peaks, holders, held = [], [], []
            for block in torch.split(rows, chunk_rows):
                out = fn(feats.index_select(0, block))
                peak = out.amax(0)
                hit = out == peak
                holds_any = hit.any(1)
                peaks.append(peak)
                holders.append(block[holds_any])
                held.append(hit[holds_any])
            peaks = torch.stack(peaks)
            is_segment_max = peaks == peaks.amax(0)
            for rows_b, held_b, max_b in zip(holders, held, is_segment_max):
                winners.append(rows_b[(held_b & max_b).any(1)])
        winners = torch.cat(winners)
    return segment_max(
        fn(feats.index_select(0, winners)), segment[winners], num_segments)
