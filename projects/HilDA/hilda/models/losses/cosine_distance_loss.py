# Copyright (c) HilDA authors. All rights reserved.
import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from torch import Tensor

from .utils import RowAlignmentLoss, reduce_rows


class _CosineDistance(torch.autograd.Function):
    """``1 - cos(s, t_hat)`` per row for a constant unit-norm ``t_hat``.

    The same value as ``1 - F.cosine_similarity`` with a closed-form
    gradient ``-(t_hat - cos * s / |s|) / |s|``: two passes over the (P, D)
    rows forward and two backward instead of about a dozen; the teacher
    gets no gradient.
    """

    @staticmethod
    def forward(ctx, student: Tensor, teacher_unit: Tensor) -> Tensor:
        norm = torch.linalg.vector_norm(student, dim=1).clamp_min(1e-8)
        cos = torch.linalg.vecdot(student, teacher_unit) / norm
        ctx.save_for_backward(student, teacher_unit, norm, cos)
        return 1 - cos

    @staticmethod
    def backward(ctx, grad: Tensor):
        student, teacher_unit, norm, cos = ctx.saved_tensors
        scale = grad / norm
        grad_student = torch.addcmul(student * (scale * cos / norm)[:, None],
                                     teacher_unit, -scale[:, None])
        return grad_student, None


def cosine_distance(student: Tensor, teacher: Tensor) -> Tensor:
    """Per-row ``1 - cos``, computed in at least float32."""
    dtype = torch.promote_types(student.dtype, torch.float32)
    teacher_unit = F.normalize(teacher.detach().to(dtype), dim=1, eps=1e-8)
    return _CosineDistance.apply(student.to(dtype), teacher_unit)


def cosine_distance_loss(student: Tensor,
                         teacher: Tensor,
                         reduction: str = 'mean') -> Tensor:
    """``1 - cos(student, teacher)`` per row, averaged (ScaLR's default) or
    summed (``reduction='sum'``) over the rows. The teacher is a target:
    no gradient reaches it."""
    return reduce_rows(cosine_distance(student, teacher), reduction)


@MODELS.register_module()
class CosineDistanceLoss(RowAlignmentLoss):
    """Cosine distance ``1 - cos(s, t)`` between student and teacher rows.

    The paper's L_distill (it beat L2 and KL in the paper's ablation).

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    row_loss = staticmethod(cosine_distance_loss)
