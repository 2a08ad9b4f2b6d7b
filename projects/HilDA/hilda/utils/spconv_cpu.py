# Copyright (c) HilDA authors. All rights reserved.
"""Make spconv's native algorithm train on machines without CUDA.

spconv 2.3's backward pass asks ``torch.cuda.current_stream`` for a stream
handle even for CPU tensors, which fails with "Found no NVIDIA driver". Its
CPU kernels also give wrong values when torch runs them on several intra-op
threads. Both are fixed here, once, and only when CUDA is unavailable.
"""
import importlib
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from mmengine.logging import print_log

_SPCONV_STREAM_MODULES = ('spconv.pytorch.cppcore', 'spconv.pytorch.ops',
                          'spconv.pytorch.hash')
_patched = False
# torch's intra-op threads before the patch limited them to one.
_dense_threads: Optional[int] = None


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
    global _patched, _dense_threads
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
    _dense_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    _patched = True
    print_log(
        'CUDA is unavailable: spconv runs on CPU with its native algorithm '
        'and torch uses one intra-op thread (spconv CPU kernels are not '
        f'thread-safe); the frozen teacher keeps {_dense_threads}.',
        logger='current')
    return True


@contextmanager
def dense_threads() -> Iterator[None]:
    """Run a block on the intra-op threads torch had before
    :func:`patch_spconv_for_cpu` limited it to one.

    For dense work with no spconv inside and no backward pass later (the
    frozen teacher's forward): it is safe on several threads and is the
    largest such part of a CPU step. Outside the patch this does nothing;
    to limit the threads, call ``torch.set_num_threads`` before importing
    the plugin.
    """
    if _dense_threads is None or _dense_threads <= torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(_dense_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
