# Copyright (c) HilDA authors. All rights reserved.
"""Reductions and the module base shared by the feature-alignment losses."""
from typing import Callable, Optional

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

    A loss that is affine in a row-wise map of the teacher (the cosine
    distance in the unit teacher row) can be summed over the teacher rows
    of one student row (a voxel's pairs) from the sum of their mapped rows:
    it names the map in ``target_map`` and the summed loss in
    ``grouped_row_sum`` (student, target sums, number of teacher rows ->
    scalar), used by :meth:`add_targets` and :meth:`forward_grouped`.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    #: Items the loss averages over: rows (pairs), not superpixels.
    needs_segments = False
    row_loss: Callable[[Tensor, Tensor, str], Tensor]
    target_map: Optional[Callable[[Tensor], Tensor]] = None
    grouped_row_sum: Optional[Callable[[Tensor, Tensor, int], Tensor]] = None

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

    @property
    def groupable(self) -> bool:
        """Whether the loss has the per-student-row form
        (:meth:`add_targets` + :meth:`forward_grouped`)."""
        return (self.target_map is not None
                and self.grouped_row_sum is not None)

    def add_targets(self, sums: Tensor, group: Tensor,
                    teacher: Tensor) -> Tensor:
        """Accumulate the mapped teacher rows into their student rows:
        ``sums[group[p]] += target_map(teacher[p])`` (no gradient). The
        teacher rows can come in chunks, so they are never all held.

        Args:
            sums (Tensor): (V, D) float accumulator, one row per student
                row, modified in place.
            group (Tensor): (P,) long student row of each teacher row.
            teacher (Tensor): (P, D) rows.

        Returns:
            Tensor: ``sums``.
        """
        return sums.index_add_(
            0, group, self.target_map(teacher.detach().to(sums.dtype)))

    def forward_grouped(self,
                        student: Tensor,
                        target_sums: Tensor,
                        num_rows: int,
                        reduction: str = 'mean') -> Tensor:
        """The loss of ``num_rows`` teacher rows against the student rows
        they belong to (a voxel's point-pixel pairs), from their summed
        mapped targets (:meth:`add_targets`): the value and gradient of
        ``forward(student[group], teacher, reduction=reduction)``.

        Args:
            student (Tensor): (V, D) rows.
            target_sums (Tensor): (V, D) summed mapped teacher rows.
            num_rows (int): P, the number of teacher rows.
            reduction (str): ``'mean'`` or ``'sum'`` over the P rows.

        Returns:
            Tensor: The weighted scalar loss.
        """
        if not self.groupable:
            raise TypeError(f'{type(self).__name__} has no per-student-row '
                            'form: expand the student rows instead')
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction must be one of {REDUCTIONS}, got '
                             f'{reduction!r}')
        total = self.grouped_row_sum(student, target_sums, num_rows)
        if reduction == 'mean':
            total = total / num_rows
        return self.loss_weight * total
