# Copyright (c) HilDA authors. All rights reserved.
"""Whether a checkpoint holds every weight of the model it is tested with.

mmengine's ``load_from`` loads non-strictly: a pre-training checkpoint
(``student.*`` keys) or a backbone-only export given to ``tools/test.py``
only logs the missing keys, and the test then evaluates randomly
initialised layers and prints a table as if all were well.
:func:`check_checkpoint_covers_model` refuses that before testing.
"""
import re
from typing import List

import torch
from torch import nn

from ..errors import HilDAError
from .safe_globals import register_checkpoint_safe_globals

# mmengine's load_checkpoint strips these prefixes (revise_keys default).
_WRAPPER_PREFIX = re.compile(r'^module\.')


class PartialCheckpointError(HilDAError, RuntimeError):
    """A checkpoint that leaves part of the model at its initial weights."""


def checkpoint_state_keys(path: str) -> List[str]:
    """The state-dict keys of a checkpoint (tensors memory-mapped, not
    read), with mmengine's ``module.`` prefix removed."""
    register_checkpoint_safe_globals()
    checkpoint = torch.load(
        path, map_location='cpu', weights_only=True, mmap=True)
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else {}
    return [_WRAPPER_PREFIX.sub('', str(key)) for key in state]


def missing_model_keys(model: nn.Module, path: str) -> List[str]:
    """Keys of ``model.state_dict()`` that the checkpoint ``path`` lacks."""
    have = set(checkpoint_state_keys(path))
    return [key for key in model.state_dict() if key not in have]


def check_checkpoint_covers_model(model: nn.Module, path: str) -> None:
    """Raise when ``path`` does not hold every weight and buffer of
    ``model``.

    Raises:
        PartialCheckpointError: Naming the file, how many keys are missing
            and the modules they belong to.
    """
    missing = missing_model_keys(model, path)
    if not missing:
        return
    total = len(model.state_dict())
    modules = sorted({key.split('.')[0] for key in missing})
    raise PartialCheckpointError(
        f'{path} lacks {len(missing)} of the model\'s {total} weights '
        f'(in {", ".join(modules)}; e.g. {missing[0]}): testing would '
        'evaluate randomly initialised layers. A pre-training checkpoint or '
        'a backbone-only export needs fine-tuning first; pass '
        '--allow-partial-load to test it anyway')
