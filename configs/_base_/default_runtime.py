# HilDA runtime defaults on top of mmdet3d's: the plugin import that every
# HilDA config needs, iteration-based logging and no-CUDA friendly workers.
_base_ = ['mmdet3d::_base_/default_runtime.py']

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

# Long runs: checkpoints written atomically, RNG states saved for exact
# resumption, NaN/inf losses stop the run (action='skip' skips the step).
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
custom_hooks = [
    dict(type='LossGuardHook', action='raise'),
    dict(type='RngStateHook')
]
# True: unreadable samples (truncated/empty scan, missing image) are logged
# once each and replaced instead of stopping the run.
skip_bad_samples = False
