# Copyright (c) HilDA authors. All rights reserved.
"""IoU of BEV occupancy maps in [-1, 1] (occupied: value > 0)."""
from typing import Dict, Optional

import numpy as np
import torch
from torch import Tensor


def occupancy_to_bev(occ: Tensor) -> Tensor:
    """(K, H, W) occupancy in [-1, 1] -> (H, W) long: 0 empty, else 1 + the
    highest occupied height bin (occupied: value > 0)."""
    bins = torch.arange(1, occ.shape[0] + 1, device=occ.device)
    return ((occ > 0).long() * bins.view(-1, 1, 1)).amax(0)


def occupancy_iou(pred: Tensor,
                  target: Tensor,
                  region: Optional[Tensor] = None) -> Dict[str, float]:
    """IoU of occupied cells (value > 0) of (K, H, W) occupancies.

    Args:
        pred (Tensor): (K, H, W) predicted occupancy.
        target (Tensor): (K, H, W) target occupancy.
        region (Tensor, optional): (H, W) bool: only these BEV cells count
            (the masked patches in ``'masked'`` mode).

    Returns:
        dict[str, float]: ``bev`` (a BEV cell is occupied when any height
        bin is) and ``voxel`` (per height bin) IoU; NaN when both are
        empty.
    """
    region = torch.ones(pred.shape[-2:], dtype=torch.bool) \
        if region is None else region.bool().cpu()
    pred, target = pred.cpu() > 0, target.cpu() > 0

    def iou(p, t):
        union = ((p | t) & region).sum().item()
        return ((p & t) & region).sum().item() / union if union else \
            float('nan')

    return dict(bev=iou(pred.any(0), target.any(0)), voxel=iou(pred, target))


def mean_bev_iou(preds: Tensor, targets: Tensor) -> float:
    """Mean over samples of the BEV IoU (NaN samples, empty both, left
    out)."""
    ious = [occupancy_iou(p, t)['bev'] for p, t in zip(preds, targets)]
    ious = [i for i in ious if i == i]
    return float(np.mean(ious)) if ious else float('nan')
