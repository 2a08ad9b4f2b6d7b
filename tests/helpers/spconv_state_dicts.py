# Copyright (c) HilDA authors. All rights reserved.
"""State dicts of a sparse-conv module in the two layouts mmdet3d loads,
for the tests that check both loading paths (only tests need them: the
export, ``checkpoints.export_student``, works on checkpoints)."""
from collections import OrderedDict
from typing import Dict

from torch import Tensor, nn

from projects.HilDA.hilda.checkpoints import (is_sparse_conv_weight,
                                              spconv1_weight)


def prefixed_state_dict(module: nn.Module, prefix: str) -> OrderedDict:
    """``module.state_dict()`` with ``prefix`` on the keys and on the
    metadata (spconv-2 layout; loads with ``load_state_dict``/``load_from``
    into the model that holds ``module`` under ``prefix``)."""
    state = module.state_dict()
    out = OrderedDict((prefix + k, v) for k, v in state.items())
    metadata = getattr(state, '_metadata', OrderedDict())
    out._metadata = OrderedDict(
        ((prefix + k).rstrip('.'), v) for k, v in metadata.items())
    return out


def to_spconv1_layout(module: nn.Module,
                      prefix: str = '') -> Dict[str, Tensor]:
    """``module``'s weights in mmcv's spconv-1 layout, without metadata,
    keys prefixed (what every mmdet3d loading path turns into spconv-2)."""
    return {
        prefix + key:
        spconv1_weight(value) if is_sparse_conv_weight(key, value) else value
        for key, value in module.state_dict().items()
    }
