# Copyright (c) HilDA authors. All rights reserved.
"""Simulate the ranks of a DDP step in one process, for loss reductions.

:func:`global_mean` all-reduces ``[count, *sums]`` across ranks. Here the
ranks run one after another: a first pass records what each rank would
contribute to every all-reduce, a second pass runs each rank again with
the all-reduce adding the other ranks' recorded contributions. Gradients
accumulate over the ranks' backward passes, so their sum divided by the
number of ranks is what DDP's gradient average would give.
"""
from typing import Callable, List, Sequence

import torch

from projects.HilDA.hilda.models.utils import distributed


def run_ranks(monkeypatch, loss_fn: Callable,
              rank_inputs: Sequence) -> List[torch.Tensor]:
    """Run ``loss_fn(rank_inputs[r])`` as rank r of ``len(rank_inputs)``.

    Args:
        monkeypatch: pytest's fixture (patches the world size and the
            all-reduce of ``projects.HilDA.hilda.models.utils.distributed``).
        loss_fn (Callable): One rank's scalar loss from its inputs.
        rank_inputs (Sequence): The inputs of each rank.

    Returns:
        list[Tensor]: Each rank's loss, after its ``backward()``.
    """
    world_size = len(rank_inputs)
    monkeypatch.setattr(distributed, 'get_world_size', lambda: world_size)
    recorded = [[] for _ in range(world_size)]

    def record(rank):

        def all_reduce(data, op='sum'):
            assert op == 'sum'
            recorded[rank].append(data.clone())

        return all_reduce

    for rank, inputs in enumerate(rank_inputs):
        monkeypatch.setattr(distributed, 'all_reduce', record(rank))
        with torch.no_grad():
            loss_fn(inputs)

    def reduce(rank):
        calls = iter(range(len(recorded[rank])))

        def all_reduce(data, op='sum'):
            call = next(calls)
            for other in range(world_size):
                if other != rank:
                    data.add_(recorded[other][call].to(data.dtype))

        return all_reduce

    losses = []
    for rank, inputs in enumerate(rank_inputs):
        monkeypatch.setattr(distributed, 'all_reduce', reduce(rank))
        loss = loss_fn(inputs)
        loss.backward()
        losses.append(loss.detach())
    return losses


def assert_ranks_match_one_process(monkeypatch, loss_fn: Callable,
                                   tensors: Sequence[torch.Tensor], full,
                                   rank_inputs: Sequence) -> None:
    """``loss_fn(full)`` in one process and ``rank_inputs`` on simulated
    ranks give the same loss on every rank and, averaged over the ranks
    as DDP does, the same gradient of every tensor in ``tensors``."""
    tensors = list(tensors)
    single = loss_fn(full)
    single.backward()
    expected = [t.grad.clone() for t in tensors]
    for t in tensors:
        t.grad = None
    losses = run_ranks(monkeypatch, loss_fn, rank_inputs)
    for loss in losses:
        torch.testing.assert_close(loss, single.detach())
    for t, want in zip(tensors, expected):
        torch.testing.assert_close(t.grad / len(rank_inputs), want)
