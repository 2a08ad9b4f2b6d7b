# Copyright (c) HilDA authors. All rights reserved.
"""Feature-alignment losses between student and teacher features."""
import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils import segment_mean

REDUCTIONS = ('mean', 'sum')


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == 'mean':
        return values.mean()
    if reduction == 'sum':
        # At least float32: a half-precision sum over 1e5 pairs overflows.
        return values.sum(
            dtype=torch.promote_types(values.dtype, torch.float32))
    raise ValueError(f'reduction must be one of {REDUCTIONS}, got '
                     f'{reduction!r}')


def cosine_distance_loss(student: Tensor,
                         teacher: Tensor,
                         reduction: str = 'mean') -> Tensor:
    """``1 - cos(student, teacher)`` per row, averaged (ScaLR's default) or
    summed (``reduction='sum'``) over the rows."""
    return _reduce(
        1 - F.cosine_similarity(student, teacher.to(student.dtype), dim=1),
        reduction)


def normalized_l2_loss(student: Tensor,
                       teacher: Tensor,
                       reduction: str = 'mean') -> Tensor:
    """Squared distance between L2-normalised rows (0 to 4), averaged or
    summed over the rows."""
    teacher = F.normalize(teacher.to(student.dtype), dim=1)
    diff = F.normalize(student, dim=1) - teacher
    return _reduce(diff.square().sum(1), reduction)


def superpixel_infonce_loss(student: Tensor,
                            teacher: Tensor,
                            segment: Tensor,
                            temperature: float = 0.07,
                            reduction: str = 'mean') -> Tensor:
    """SLidR's superpixel-driven InfoNCE.

    Student and teacher features of the pairs are averaged per superpixel
    (``segment``, unique over the batch); each superpixel's pooled student
    feature must pick its own pooled teacher feature among all superpixels
    of the batch (cross-entropy over cosine similarities / temperature).

    Args:
        student (Tensor): (P, D) student features of the pairs.
        teacher (Tensor): (P, D) teacher features of the pairs.
        segment (Tensor): (P,) long superpixel id of each pair.
        temperature (float): Softmax temperature. Defaults to 0.07.
        reduction (str): ``'mean'`` (default) or ``'sum'`` over the
            superpixels.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got '
                         f'{reduction!r}')
    ids, segment = torch.unique(segment, return_inverse=True)
    s = F.normalize(segment_mean(student, segment, len(ids)), dim=1)
    t = F.normalize(
        segment_mean(teacher.to(student.dtype), segment, len(ids)), dim=1)
    logits = s @ t.t() / temperature
    return F.cross_entropy(
        logits, torch.arange(len(ids), device=s.device), reduction=reduction)


def num_superpixels(segment: Tensor) -> int:
    """Number of distinct superpixels: the items of the InfoNCE loss."""
    return len(torch.unique(segment))


DISTILL_LOSSES = dict(
    cosine=cosine_distance_loss,
    l2=normalized_l2_loss,
    infonce=superpixel_infonce_loss)
