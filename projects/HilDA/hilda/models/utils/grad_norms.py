# Copyright (c) HilDA authors. All rights reserved.
"""How hard each loss term pushes a tensor (e.g. the student's last stage)."""
from typing import Dict

import torch
from torch import Tensor


def loss_grad_norms(losses: Dict[str, Tensor],
                    tensor: Tensor,
                    prefix: str = 'gradnorm_') -> Dict[str, Tensor]:
    """The L2 norm of the gradient of every loss term w.r.t. ``tensor``.

    One ``torch.autograd.grad`` per term with the graph retained, so it costs
    about one partial backward pass per term: call it only on the iterations
    whose values are logged. Parameter gradients are not touched.

    Args:
        losses (dict[str, Tensor]): Loss terms; keys starting with
            ``'loss'`` count, others (counts, logs) are skipped.
        tensor (Tensor): A tensor of the graph (needs no ``.grad``).
        prefix (str): Prefix of the returned keys (no ``'loss'`` in it, so
            mmengine logs them without adding them to the total loss).

    Returns:
        dict[str, Tensor]: ``{prefix + name without 'loss_': norm}``; 0 for
        a term that does not reach ``tensor``.
    """
    norms = {}
    for name, value in losses.items():
        if not name.startswith('loss') or not isinstance(value, Tensor):
            continue
        key = prefix + name[len('loss_'):]
        if not value.requires_grad or not tensor.requires_grad:
            norms[key] = value.new_zeros(()).detach().float()
            continue
        grad, = torch.autograd.grad(
            value, tensor, retain_graph=True, allow_unused=True)
        norms[key] = (tensor.new_zeros(()) if grad is None else
                      grad.detach().float().norm()).detach().float()
    return norms
