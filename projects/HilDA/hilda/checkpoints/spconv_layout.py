# Copyright (c) HilDA authors. All rights reserved.
"""Sparse-convolution weights in mmcv's spconv-1 and spconv-2 layouts.

mmdet3d (``register_spconv2``) overrides spconv's ``_load_from_state_dict``:
a sparse-conv weight is permuted from mmcv's spconv-1 layout
``(D, H, W, in, out)`` to spconv-2's ``(out, D, H, W, in)`` unless the
state dict's ``_metadata`` marks that module as version 2. A state dict
whose keys were renamed with a plain dict comprehension, or loaded through
``init_cfg=dict(type='Pretrained', prefix=...)`` (mmengine drops the
metadata there), is therefore read as spconv-1. The export
(:mod:`.export`) writes spconv-1 layout without metadata, which every
mmdet3d loading path turns back into spconv-2; the weight check
(``PretrainedWeightsCheckHook``) accepts both layouts.

Which tensors are sparse-conv weights is decided here, once, from the
state dict alone (no module needed): the 3D students' only 5-D weights are
their sparse convolutions' (dense 3D convs do not occur in them).
"""
from torch import Tensor


def is_sparse_conv_weight(key: str, value: Tensor) -> bool:
    """Whether the state-dict entry ``key`` is a 3D sparse-conv weight."""
    return key.endswith('.weight') and value.dim() == 5


def spconv1_weight(weight: Tensor) -> Tensor:
    """spconv-2 ``(out, D, H, W, in)`` -> mmcv spconv-1 ``(D, H, W, in, out)``.
    """
    return weight.permute(*range(1, weight.dim()), 0).contiguous()


def spconv2_weight(weight: Tensor) -> Tensor:
    """mmcv spconv-1 ``(D, H, W, in, out)`` -> spconv-2 ``(out, D, H, W, in)``
    (what mmdet3d's loader does to a spconv-1 weight)."""
    return weight.permute(-1, *range(weight.dim() - 1))
