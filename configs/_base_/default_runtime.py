# HilDA runtime defaults on top of mmdet3d's: the plugin import that every
# HilDA config needs, iteration-based logging and no-CUDA friendly workers.
_base_ = ['mmdet3d::_base_/default_runtime.py', './long_run.py']

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

# Long runs (see long_run.py): checkpoints written atomically (work dir
# locked), RNG states saved for exact resumption, NaN/inf losses stop the
# run (default_hooks.loss_guard.action='skip' skips the step);
# skip_bad_samples(_cfg) come from there too.
default_hooks = _base_.hilda_long_run_hooks
