# Copyright (c) HilDA authors. All rights reserved.
"""Reductions and the module base shared by the feature-alignment losses."""
from typing import Callable

import torch
from torch import Tensor, nn

REDUCTIONS = ('mean', 'sum')


def reduce_rows(values: Tensor, reduction: str) -> Tensor:
    """Mean or sum of per-row losses.

    A sum is taken in at least float32: a half-precision sum over 1e5 pairs
    overflows.
    """
    if reduction == 'mean':
        return values.mean()
    if reduction == 'sum':
        return values.sum(
            dtype=torch.promote_types(values.dtype, torch.float32))
    raise ValueError(f'reduction must be one of {REDUCTIONS}, got '
                     f'{reduction!r}')


class RowAlignmentLoss(nn.Module):
    """Base of the losses that compare student and teacher row by row.

    A subclass names its per-row function in ``row_loss`` (student,
    teacher, reduction -> scalar); the module multiplies it by its own
    ``loss_weight``.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    #: Items the loss averages over: rows (pairs), not superpixels.
    needs_segments = False
    row_loss: Callable[[Tensor, Tensor, str], Tensor]

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self,
                student: Tensor,
                teacher: Tensor,
                segment: Tensor = None,
                reduction: str = 'mean') -> Tensor:
        """Weighted mean or sum over the (P, D) rows; ``segment`` is
        ignored (the interface of the superpixel InfoNCE loss)."""
        return self.loss_weight * self.row_loss(student, teacher, reduction)
