# Copyright (c) HilDA authors. All rights reserved.
"""Make spconv's native algorithm train on machines without CUDA.

spconv 2.3's backward pass asks ``torch.cuda.current_stream`` for a stream
handle even for CPU tensors, which fails with "Found no NVIDIA driver". Its
CPU kernels also give wrong values when torch runs them on several intra-op
threads. Both are fixed here, once, and only when CUDA is unavailable.
"""
import importlib

import torch
from mmengine.logging import print_log

_SPCONV_STREAM_MODULES = ('spconv.pytorch.cppcore', 'spconv.pytorch.ops',
                          'spconv.pytorch.hash')
_patched = False


def _null_stream() -> int:
    """Stream handle spconv passes to its CPU kernels (0: no stream)."""
    return 0


def patch_spconv_for_cpu() -> bool:
    """Let spconv run forward and backward on CPU when CUDA is unavailable.

    Rebinds ``get_current_stream`` in the spconv modules that call it to a
    function returning 0 and limits torch to one intra-op thread (spconv's
    CPU kernels race with more). Does nothing when CUDA is available or spconv
    is not installed; safe to call more than once.

    Returns:
        bool: Whether the patch is active.
    """
    global _patched
    if _patched:
        return True
    if torch.cuda.is_available():
        return False
    try:
        modules = [importlib.import_module(m) for m in _SPCONV_STREAM_MODULES]
    except ImportError:
        return False
    for module in modules:
        if hasattr(module, 'get_current_stream'):
            module.get_current_stream = _null_stream
    torch.set_num_threads(1)
    _patched = True
    print_log(
        'CUDA is unavailable: spconv runs on CPU with its native algorithm '
        'and torch uses one intra-op thread (spconv CPU kernels are not '
        'thread-safe).',
        logger='current')
    return True
