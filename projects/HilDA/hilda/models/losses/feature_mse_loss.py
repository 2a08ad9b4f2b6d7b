# Copyright (c) HilDA authors. All rights reserved.
import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from torch import Tensor

from .utils import RowAlignmentLoss, reduce_rows


def feature_mse_loss(student: Tensor,
                     teacher: Tensor,
                     reduction: str = 'mean') -> Tensor:
    """Mean squared error over the channels of each row, averaged or
    summed over the rows; in at least float32, the teacher a constant."""
    dtype = torch.promote_types(student.dtype, torch.float32)
    per_row = F.mse_loss(
        student.to(dtype), teacher.detach().to(dtype),
        reduction='none').mean(1)
    return reduce_rows(per_row, reduction)


@MODELS.register_module()
class FeatureMSELoss(RowAlignmentLoss):
    """MSE between student and teacher feature rows (the paper's L_CLS).

    Unlike mmdet's ``MSELoss`` it reduces per row first (mean over the
    channels), so ``reduction='sum'`` sums one value per row and a sum
    divided by the rows of all ranks is the global mean
    (:func:`~projects.HilDA.hilda.models.utils.global_mean`).

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    row_loss = staticmethod(feature_mse_loss)
