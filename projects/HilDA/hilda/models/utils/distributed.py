# Copyright (c) HilDA authors. All rights reserved.
"""Loss reductions that do not depend on how a batch is split over ranks.

DDP averages the gradients of the ranks. A loss that is a per-rank *mean*
over items (point-pixel pairs, masked cells, samples) therefore weights the
items of a rank with few items more than those of a rank with many, and its
gradient differs from that of one process on the whole (concatenated)
batch. Dividing each rank's *sum* by the item count averaged over ranks
instead, ``sum_r / (N / world_size)`` with ``N = sum_r N_r``, makes the DDP
average ``sum(sum_r) / N``: the gradient of the global mean, whatever the
split.
"""
from typing import List, Sequence, Union

import torch
from mmengine.dist import all_reduce, get_world_size
from torch import Tensor


def global_mean(sums: Sequence[Tensor], count: Union[int, float,
                                                     Tensor]) -> List[Tensor]:
    """Means over the items of all ranks, from this rank's sums and count.

    Not distributed (or one rank), this is ``sum / max(count, 1)``.
    Distributed, one all-reduce of ``[count, *sums]`` (detached) gives the
    total count ``N``; each returned loss has the gradient of
    ``sum / (N / world_size)`` (so DDP's gradient average equals the
    gradient of the mean over all ranks' items) and the *value* of that
    mean over all ranks' items, ``all_reduce(sum) / N``, the same on every
    rank (the logged loss is the whole batch's). Every rank must call it
    the same number of times, also when it has no items (pass sums that
    are zeros in the graph).

    Args:
        sums (Sequence[Tensor]): Scalar sums over this rank's items.
        count (int | float | Tensor): Number of items on this rank.

    Returns:
        list[Tensor]: One scalar per sum; 0 where no rank has an item.
    """
    if get_world_size() == 1:
        if isinstance(count, Tensor):
            return [s / count.clamp(min=1).to(s.dtype) for s in sums]
        return [s / max(float(count), 1.0) for s in sums]
    device = sums[0].device
    stats = torch.stack([
        torch.as_tensor(count, dtype=torch.float64, device=device).reshape(())
    ] + [s.detach().to(torch.float64).reshape(()) for s in sums])
    all_reduce(stats, op='sum')
    total = stats[0].clamp(min=1)
    # Where no rank has an item every sum is 0 and any divisor will do.
    denom = total / get_world_size()
    means = []
    for s, global_sum in zip(sums, stats[1:]):
        local = s / denom.to(s.dtype)
        value = (global_sum / total).to(s.dtype)
        means.append(local + (value - local).detach())
    return means
