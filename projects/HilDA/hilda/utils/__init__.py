# Copyright (c) HilDA authors. All rights reserved.
"""Process-level helpers below every other layer: spconv on the CPU and the
work-dir lock (nothing of models, datasets, engine or apis is imported)."""
from .spconv_cpu import SingleThreadedKernels, patch_spconv_for_cpu
from .work_dir_lock import (WorkDirLock, WorkDirLockedError,
                            stale_temporary_files)

__all__ = [
    'patch_spconv_for_cpu', 'SingleThreadedKernels', 'WorkDirLock',
    'WorkDirLockedError', 'stale_temporary_files'
]
