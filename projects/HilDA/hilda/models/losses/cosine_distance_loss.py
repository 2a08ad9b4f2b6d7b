# Copyright (c) HilDA authors. All rights reserved.
import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from torch import Tensor

from .utils import RowAlignmentLoss, reduce_rows


class _CosineDistance(torch.autograd.Function):
    """``1 - <s, t> / |s|`` per row for a constant ``t``.

    For a unit-norm ``t`` this is ``1 - F.cosine_similarity(s, t)``; for
    the sum of several unit targets it is the summed cosine distance of
    the row to each of them, up to the count (see
    :func:`cosine_distance_grouped`). The closed-form gradient
    ``-(t - c * s / |s|) / |s|`` (``c = <s, t> / |s|``) takes two passes
    over the (P, D) rows forward and two backward instead of about a
    dozen; the teacher gets no gradient.
    """

    @staticmethod
    def forward(ctx, student: Tensor, target: Tensor) -> Tensor:
        norm = torch.linalg.vector_norm(student, dim=1).clamp_min(1e-8)
        cos = torch.linalg.vecdot(student, target) / norm
        ctx.save_for_backward(student, target, norm, cos)
        return 1 - cos

    @staticmethod
    def backward(ctx, grad: Tensor):
        student, target, norm, cos = ctx.saved_tensors
        scale = grad / norm
        grad_student = torch.addcmul(student * (scale * cos / norm)[:, None],
                                     target, -scale[:, None])
        return grad_student, None


def cosine_distance(student: Tensor, teacher: Tensor) -> Tensor:
    """Per-row ``1 - cos``, computed in at least float32."""
    dtype = torch.promote_types(student.dtype, torch.float32)
    teacher_unit = unit_rows(teacher.detach().to(dtype))
    return _CosineDistance.apply(student.to(dtype), teacher_unit)


def unit_rows(teacher: Tensor) -> Tensor:
    """The teacher rows scaled to unit norm: the cosine distance is affine
    in them.

    Args:
        teacher (Tensor): (P, D) rows.

    Returns:
        Tensor: (P, D) rows of norm 1 (zero rows stay zero).
    """
    return F.normalize(teacher, dim=1, eps=1e-8)


def cosine_distance_grouped(student: Tensor, unit_sums: Tensor,
                            num_rows: int) -> Tensor:
    """Summed cosine distance of ``num_rows`` teacher rows to the student
    rows they belong to, from each student row's sum of unit teacher rows.

    ``sum_p 1 - cos(s_g(p), t_p) = sum_v (n_v - <s_v, T_v> / |s_v|)`` with
    ``T_v`` the sum of the unit teacher rows of group ``v`` and ``n_v``
    their number: the student side never grows to one row per teacher row.
    Value and gradient equal the expanded form's up to float rounding.

    Args:
        student (Tensor): (V, D) rows.
        unit_sums (Tensor): (V, D) sums of unit teacher rows (constant).
        num_rows (int): P, the number of teacher rows.

    Returns:
        Tensor: The scalar sum over the P teacher rows, in at least
        float32.
    """
    dtype = torch.promote_types(student.dtype, torch.float32)
    per_row = _CosineDistance.apply(
        student.to(dtype),
        unit_sums.detach().to(dtype))
    return per_row.sum() + (num_rows - len(student))


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
    target_map = staticmethod(unit_rows)
    grouped_row_sum = staticmethod(cosine_distance_grouped)
