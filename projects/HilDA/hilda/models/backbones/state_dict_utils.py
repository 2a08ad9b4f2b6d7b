# Copyright (c) HilDA authors. All rights reserved.
"""Export student weights so mmdet3d's spconv models load them as they are.

mmdet3d (``register_spconv2``) overrides spconv's ``_load_from_state_dict``:
a sparse-conv weight is permuted from mmcv's spconv-1 layout
``(D, H, W, in, out)`` to spconv-2's ``(out, D, H, W, in)`` unless the
state dict's ``_metadata`` marks that module as version 2. A state dict
whose keys were renamed with a plain dict comprehension, or loaded through
``init_cfg=dict(type='Pretrained', prefix=...)`` (mmengine drops the
metadata there), is therefore read as spconv-1 and fails with size
mismatches. Two ways out:

- :func:`prefixed_state_dict`: spconv-2 layout with the metadata renamed
  along with the keys (``load_state_dict`` / ``load_from`` with the
  metadata kept).
- :func:`to_spconv1_layout`: the weights permuted to spconv-1 layout and no
  metadata, which every mmdet3d loading path (including ``init_cfg`` with a
  prefix) turns back into spconv-2.
"""
from collections import OrderedDict
from typing import Dict

from torch import Tensor, nn


def _sparse_conv_names(module: nn.Module) -> set:
    """Names of the sparse convolutions (spconv 2 / mmcv) in ``module``."""
    return {
        name
        for name, m in module.named_modules() if all(
            hasattr(m, a) for a in ('subm', 'kernel_size', 'stride'))
    }


def prefixed_state_dict(module: nn.Module, prefix: str) -> OrderedDict:
    """``module.state_dict()`` with ``prefix`` on the keys and the metadata.

    Args:
        module (nn.Module): E.g. a :class:`MultiLevelMinkUNet`.
        prefix (str): E.g. ``'backbone.'`` (MinkUNet) or
            ``'pts_middle_encoder.'`` (CenterPoint).

    Returns:
        OrderedDict: Loads with ``load_state_dict`` into the model that holds
        the module under ``prefix``.
    """
    state = module.state_dict()
    out = OrderedDict((prefix + k, v) for k, v in state.items())
    metadata = getattr(state, '_metadata', OrderedDict())
    out._metadata = OrderedDict(
        ((prefix + k).rstrip('.'), v) for k, v in metadata.items())
    return out


def spconv1_weight(weight: Tensor) -> Tensor:
    """spconv-2 ``(out, D, H, W, in)`` -> mmcv spconv-1 ``(D, H, W, in, out)``.
    """
    return weight.permute(*range(1, weight.dim()), 0).contiguous()


def to_spconv1_layout(module: nn.Module,
                      prefix: str = '') -> Dict[str, Tensor]:
    """``module``'s weights in mmcv's spconv-1 layout, without metadata.

    Args:
        module (nn.Module): A module with spconv-2 sparse convolutions.
        prefix (str): Prepended to every key.

    Returns:
        dict[str, Tensor]: Plain dict; sparse-conv weights are
        ``(D, H, W, in, out)``.
    """
    convs = _sparse_conv_names(module)
    out = {}
    for key, value in module.state_dict().items():
        owner, _, name = key.rpartition('.')
        if owner in convs and name == 'weight':
            value = spconv1_weight(value)
        out[prefix + key] = value
    return out
