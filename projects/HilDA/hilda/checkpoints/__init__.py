# Copyright (c) HilDA authors. All rights reserved.
"""Checkpoint handling: student export, spconv weight layouts, SHA-256
integrity and atomic writes, safe ``weights_only`` loading, resume checks."""
from .export import TARGET_PREFIXES, export_student, student_state_dict
from .integrity import (SIDECAR_SUFFIX, ChecksumError, atomic_write,
                        load_verified_checkpoint, recorded_sha256, sha256_file,
                        torch_save_atomic, verify_checkpoint, write_sidecar)
from .resume import (check_resume_checkpoint, checkpoint_problem,
                     find_resume_checkpoint)
from .safe_globals import register_checkpoint_safe_globals
from .spconv_layout import (is_sparse_conv_weight, spconv1_weight,
                            spconv2_weight)

__all__ = [
    'TARGET_PREFIXES', 'export_student', 'student_state_dict',
    'SIDECAR_SUFFIX', 'ChecksumError', 'atomic_write',
    'load_verified_checkpoint', 'recorded_sha256', 'sha256_file',
    'torch_save_atomic', 'verify_checkpoint', 'write_sidecar',
    'check_resume_checkpoint', 'checkpoint_problem', 'find_resume_checkpoint',
    'register_checkpoint_safe_globals', 'is_sparse_conv_weight',
    'spconv1_weight', 'spconv2_weight'
]
