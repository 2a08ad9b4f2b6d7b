# Copyright (c) HilDA authors. All rights reserved.
"""Make spconv's native algorithm train on machines without CUDA.

spconv 2.3's backward pass asks ``torch.cuda.current_stream`` for a stream
handle even for CPU tensors, which fails with "Found no NVIDIA driver". Its
CPU ``scatter_add_cpu`` kernel (the last step of every native sparse conv,
forward and backward) also gives wrong values when torch runs it on several
intra-op threads. Both are fixed here, once, and only when CUDA is
unavailable; everything else keeps torch's threads.
"""
import functools
import importlib
from typing import Any, Callable

import torch
from mmengine.logging import print_log

_SPCONV_STREAM_MODULES = ('spconv.pytorch.cppcore', 'spconv.pytorch.ops',
                          'spconv.pytorch.hash')
# Modules that call spconv's C++ kernels through a global ``SpconvOps``.
_SPCONV_KERNEL_MODULES = ('spconv.pytorch.ops', 'spconv.pytorch.utils')
# Kernels measured to give the one-thread result on several threads (a
# read-only gather); every other kernel runs on one thread. The sparse
# conv's matrix products are torch's and keep all threads.
_THREAD_SAFE_KERNELS = frozenset({'gather_cpu'})
_patched = False


def _null_stream() -> int:
    """Stream handle spconv passes to its CPU kernels (0: no stream)."""
    return 0


def _one_thread(kernel: Callable) -> Callable:
    """``kernel`` run on one torch intra-op thread, then the threads back."""

    @functools.wraps(kernel)
    def run(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return kernel(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return run


class SingleThreadedKernels:
    """Stands in for spconv's ``SpconvOps``: each kernel but the thread-safe
    ones runs on one intra-op thread.

    Args:
        kernels: spconv's ``SpconvOps`` class.
    """

    def __init__(self, kernels: Any) -> None:
        self._kernels = kernels

    def __getattr__(self, name: str) -> Any:
        kernel = getattr(self._kernels, name)
        if not callable(kernel) or name in _THREAD_SAFE_KERNELS:
            return kernel
        wrapped = _one_thread(kernel)
        setattr(self, name, wrapped)  # wrap once, not on every call
        return wrapped


def patch_spconv_for_cpu() -> bool:
    """Let spconv run forward and backward on CPU when CUDA is unavailable.

    Rebinds ``get_current_stream`` in the spconv modules that call it to a
    function returning 0, and replaces their ``SpconvOps`` by
    :class:`SingleThreadedKernels`. Does nothing when CUDA is available or
    spconv is not installed; safe to call more than once.

    Returns:
        bool: Whether the patch is active.
    """
    global _patched
    if _patched:
        return True
    if torch.cuda.is_available():
        return False
    try:
        modules = [
            importlib.import_module(m)
            for m in dict.fromkeys(_SPCONV_STREAM_MODULES +
                                   _SPCONV_KERNEL_MODULES)
        ]
    except ImportError:
        return False
    for module in modules:
        if hasattr(module, 'get_current_stream'):
            module.get_current_stream = _null_stream
        if hasattr(module, 'SpconvOps'):
            module.SpconvOps = SingleThreadedKernels(module.SpconvOps)
    _patched = True
    print_log(
        'CUDA is unavailable: spconv runs on CPU with its native algorithm; '
        'its own kernels run on one thread (its scatter races with more), '
        f'the rest of the step on torch\'s {torch.get_num_threads()}.',
        logger='current')
    return True
