# Copyright (c) HilDA authors. All rights reserved.
"""Checkpoint handling: student export, spconv weight layouts, SHA-256
integrity and atomic writes, safe ``weights_only`` loading, resume checks."""
from .coverage import (PartialCheckpointError, check_checkpoint_covers_model,
                       missing_model_keys)
from .export import (TARGET_KEY_PATTERNS, TARGET_PREFIXES, ExportError,
                     check_exported_weights, export_student,
                     student_state_dict)
from .integrity import (SIDECAR_SUFFIX, ChecksumError, atomic_write,
                        check_checkpoint_file, load_verified_checkpoint,
                        recorded_sha256, sha256_file, torch_save_atomic,
                        verify_checkpoint, write_sidecar, zip_crc_problem)
from .resume import (check_resume_checkpoint, checkpoint_problem,
                     find_resume_checkpoint)
from .safe_globals import register_checkpoint_safe_globals
from .spconv_layout import (is_sparse_conv_weight, spconv1_weight,
                            spconv2_weight)

__all__ = [
    'PartialCheckpointError', 'check_checkpoint_covers_model',
    'missing_model_keys', 'TARGET_KEY_PATTERNS', 'ExportError',
    'check_exported_weights', 'check_checkpoint_file', 'zip_crc_problem',
    'TARGET_PREFIXES', 'export_student', 'student_state_dict',
    'SIDECAR_SUFFIX', 'ChecksumError', 'atomic_write',
    'load_verified_checkpoint', 'recorded_sha256', 'sha256_file',
    'torch_save_atomic', 'verify_checkpoint', 'write_sidecar',
    'check_resume_checkpoint', 'checkpoint_problem', 'find_resume_checkpoint',
    'register_checkpoint_safe_globals', 'is_sparse_conv_weight',
    'spconv1_weight', 'spconv2_weight'
]
