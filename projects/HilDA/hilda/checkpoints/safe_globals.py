# Copyright (c) HilDA authors. All rights reserved.
"""Let torch>=2.6 load mmengine checkpoints with ``weights_only=True``.

Since torch 2.6, ``torch.load`` refuses every global that is not on its
allowlist, and mmengine (0.10.7) checkpoints carry a few: numpy arrays and
scalars in the message hub, ``ConfigDict`` in the meta, and
``HistoryBuffer`` objects whose statistics methods pickle as
``getattr(HistoryBuffer, 'mean')``. Instead of turning the safety off, the
exact objects are allowlisted, and ``builtins.getattr`` is bound to a
function that only resolves HistoryBuffer's statistics methods, so a
crafted checkpoint still cannot reach arbitrary attributes.
"""
import importlib
import pickle
from typing import Any

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer

from ..utils.mmengine_compat import history_buffer_statistics

_DEFAULT_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})
_registered = False


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` limited to ``HistoryBuffer``'s statistics methods.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    # The defaults are registered lazily (on the first HistoryBuffer), so
    # they are listed here too.
    allowed = _DEFAULT_STATISTICS | set(history_buffer_statistics())
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only '
        'HistoryBuffer statistics methods are allowed')


def _numpy_multiarray_globals() -> list:
    """numpy's array/scalar rebuilders under both module names.

    numpy 1.x pickles them as ``numpy.core.multiarray.*`` and 2.x as
    ``numpy._core.multiarray.*``; either may be read by either.
    """
    try:
        multiarray = importlib.import_module('numpy._core.multiarray')
    except ImportError:
        multiarray = importlib.import_module('numpy.core.multiarray')
    return [(getattr(multiarray, name), f'{module}.multiarray.{name}')
            for name in ('_reconstruct', 'scalar')
            for module in ('numpy.core', 'numpy._core')]


def checkpoint_safe_globals() -> list:
    """The allowlist: objects, or (object, 'module.name') pairs."""
    dtype_classes = {type(np.dtype(t)) for t in np.sctypeDict.values()}
    return [
        ConfigDict,
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        *sorted(dtype_classes, key=lambda c: c.__name__),
        *_numpy_multiarray_globals(),
        (history_buffer_getattr, 'builtins.getattr'),
    ]


def register_checkpoint_safe_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's allowlist, once."""
    global _registered
    if _registered or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    _registered = True
