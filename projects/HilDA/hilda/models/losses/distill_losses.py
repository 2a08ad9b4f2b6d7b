# Copyright (c) HilDA authors. All rights reserved.
"""Feature-alignment losses between student and teacher features."""
import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils import segment_mean


def cosine_distance_loss(student: Tensor, teacher: Tensor) -> Tensor:
    """Mean ``1 - cos(student, teacher)`` over rows (ScaLR's default)."""
    return (1 - F.cosine_similarity(student, teacher.to(student.dtype),
                                    dim=1)).mean()


def normalized_l2_loss(student: Tensor, teacher: Tensor) -> Tensor:
    """Mean squared distance between L2-normalised rows (0 to 4)."""
    diff = F.normalize(student, dim=1) - F.normalize(
        teacher.to(student.dtype), dim=1)
    return diff.square().sum(1).mean()


def superpixel_infonce_loss(student: Tensor,
                            teacher: Tensor,
                            segment: Tensor,
                            temperature: float = 0.07) -> Tensor:
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
    """
    ids, segment = torch.unique(segment, return_inverse=True)
    s = F.normalize(segment_mean(student, segment, len(ids)), dim=1)
    t = F.normalize(
        segment_mean(teacher.to(student.dtype), segment, len(ids)), dim=1)
    logits = s @ t.t() / temperature
    return F.cross_entropy(logits, torch.arange(len(ids), device=s.device))


DISTILL_LOSSES = dict(
    cosine=cosine_distance_loss,
    l2=normalized_l2_loss,
    infonce=superpixel_infonce_loss)
