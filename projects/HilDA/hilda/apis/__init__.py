# Copyright (c) HilDA authors. All rights reserved.
"""What the tools run: CLI flags and their checks, the launcher, the
registry report, the skip-bad-samples wiring and the work-dir check (the
top layer: it may import every other one, none imports it)."""
from ..errors import ConfigError
from .cli import (CheckedDictAction, add_cfg_options, add_common_args,
                  apply_common_args, build_runner, finish_args, run_tool)
from .config_checks import (PLUGIN, check_cfg_options, check_train_cfg,
                            imports_plugin, load_config)
from .launcher import setup_launcher
from .registry_report import (format_registered_hilda_modules,
                              registered_hilda_modules)
from .skip_bad_samples import apply_skip_bad_samples
from .work_dir import check_work_dir_free

__all__ = [
    'CheckedDictAction', 'add_cfg_options', 'add_common_args',
    'apply_common_args', 'build_runner', 'finish_args', 'run_tool', 'PLUGIN',
    'ConfigError', 'check_cfg_options', 'check_train_cfg', 'imports_plugin',
    'load_config', 'setup_launcher', 'format_registered_hilda_modules',
    'registered_hilda_modules', 'apply_skip_bad_samples', 'check_work_dir_free'
]
