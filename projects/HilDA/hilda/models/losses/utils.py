# Copyright (c) HilDA authors. All rights reserved.
"""Reductions shared by the feature-alignment losses."""
import torch
from torch import Tensor

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
