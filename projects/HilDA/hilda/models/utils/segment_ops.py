# Copyright (c) HilDA authors. All rights reserved.
"""Reductions within the segments (samples) of a batch of rows."""
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
