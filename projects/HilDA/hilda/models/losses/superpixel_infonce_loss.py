# Copyright (c) HilDA authors. All rights reserved.
from typing import Optional

import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from ..utils import segment_mean
from .utils import REDUCTIONS


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


@MODELS.register_module()
class SuperpixelInfoNCELoss(nn.Module):
    """SLidR's superpixel-pooled InfoNCE (the SLidR-style ablation).

    Needs a superpixel id per pair (``ImageSuperpixels`` in the pipeline);
    the loss averages over superpixels, not pairs.

    Args:
        temperature (float): Softmax temperature. Defaults to 0.07.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    #: Items the loss averages over are superpixels (``segment``).
    needs_segments = True

    def __init__(self,
                 temperature: float = 0.07,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self,
                student: Tensor,
                teacher: Tensor,
                segment: Optional[Tensor] = None,
                reduction: str = 'mean') -> Tensor:
        """Weighted mean or sum over the superpixels ``segment`` (P,)."""
        if segment is None:
            raise ValueError('SuperpixelInfoNCELoss needs superpixels: add '
                             'ImageSuperpixels to the pipeline')
        return self.loss_weight * superpixel_infonce_loss(
            student, teacher, segment, self.temperature, reduction)
