# Copyright (c) HilDA authors. All rights reserved.
"""How hard each loss term pushes a tensor (e.g. the student's last stage)."""
from typing import Dict, Sequence

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


def loss_grad_shares(losses: Dict[str, Tensor],
                     groups: Dict[str, Sequence[Tensor]],
                     prefix: str = 'gradshare_') -> Dict[str, Tensor]:
    """Each loss term's share of the parameter gradient of each group.

    ``share(term, group) = |g_term| / sum_terms |g_term|``, ``g_term`` the
    gradient of the weighted term w.r.t. the group's parameters (one
    vector): the shares of a group sum to 1. Unlike a norm taken on
    features (:func:`loss_grad_norms`), this is what the optimiser sees: a
    term that acts on few voxels is not exaggerated. One
    ``torch.autograd.grad`` per term over the union of the groups, graph
    retained; ``.grad`` is not touched.

    Args:
        losses (dict[str, Tensor]): Loss terms; keys starting with
            ``'loss'`` count, others are skipped.
        groups (dict[str, Sequence[Tensor]]): Named parameter lists (e.g.
            ``last``: the student's last stage, ``student``: all of it).
        prefix (str): Prefix of the returned keys (no ``'loss'`` in it).

    Returns:
        dict[str, Tensor]: ``{prefix + group + '_' + term: share}``, term
        without ``'loss_'``; all 0 for a group no term reaches.
    """
    params, index = [], {}
    for members in groups.values():
        for p in members:
            if p.requires_grad and id(p) not in index:
                index[id(p)] = len(params)
                params.append(p)
    sq_norms: Dict[str, Dict[str, float]] = {name: {} for name in groups}
    for name, value in losses.items():
        if not name.startswith('loss') or not isinstance(value, Tensor):
            continue
        term = name[len('loss_'):]
        grads = [None] * len(params)
        if value.requires_grad and params:
            grads = torch.autograd.grad(
                value, params, retain_graph=True, allow_unused=True)
        for group, members in groups.items():
            sq_norms[group][term] = sum(
                float(grads[index[id(p)]].detach().float().square().sum())
                for p in members
                if id(p) in index and grads[index[id(p)]] is not None)
    shares = {}
    for group, terms in sq_norms.items():
        total = sum(v**0.5 for v in terms.values())
        for term, sq in terms.items():
            share = sq**0.5 / total if total > 0 else 0.0
            shares[f'{prefix}{group}_{term}'] = torch.tensor(share)
    return shares
