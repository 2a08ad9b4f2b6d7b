# Copyright (c) HilDA authors. All rights reserved.
from .checkpoint_integrity import (ChecksumError, atomic_write,
                                   load_verified_checkpoint, sha256_file,
                                   torch_save_atomic, verify_checkpoint,
                                   write_sidecar)
from .checkpoint_safe_globals import register_checkpoint_safe_globals
from .cli import (CheckedDictAction, add_common_args, apply_common_args,
                  build_runner, finish_args, run_tool)
from .config_checks import (PLUGIN, ConfigError, check_cfg_options,
                            check_train_cfg, imports_plugin, load_config)
from .launcher import setup_launcher
from .registry_report import (format_registered_hilda_modules,
                              registered_hilda_modules)
from .resume_checks import (check_resume_checkpoint, checkpoint_problem,
                            find_resume_checkpoint)
from .spconv_cpu import SingleThreadedKernels, patch_spconv_for_cpu
from .weight_export import TARGET_PREFIXES, export_student, student_state_dict
from .work_dir_lock import (WorkDirLock, WorkDirLockedError,
                            stale_temporary_files)

__all__ = [
    'CheckedDictAction', 'add_common_args', 'apply_common_args',
    'build_runner', 'finish_args', 'run_tool', 'PLUGIN', 'ConfigError',
    'check_cfg_options', 'imports_plugin', 'load_config', 'setup_launcher',
    'format_registered_hilda_modules', 'registered_hilda_modules',
    'patch_spconv_for_cpu', 'SingleThreadedKernels',
    'register_checkpoint_safe_globals', 'TARGET_PREFIXES', 'export_student',
    'student_state_dict', 'ChecksumError', 'atomic_write',
    'load_verified_checkpoint', 'sha256_file', 'torch_save_atomic',
    'verify_checkpoint', 'write_sidecar', 'WorkDirLock', 'WorkDirLockedError',
    'stale_temporary_files', 'check_train_cfg', 'check_resume_checkpoint',
    'checkpoint_problem', 'find_resume_checkpoint'
]
