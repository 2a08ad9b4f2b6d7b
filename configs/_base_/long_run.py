# Long-run settings of every HilDA config (pre-training and fine-tuning).
# The protections are named default hooks. default_hooks is a dict,
# which config inheritance merges key by key, so a child config that sets its
# own custom_hooks (a list, which inheritance replaces) keeps them:
# - checkpoint: AtomicCheckpointHook (atomic saves, work-dir lock); the
#   base's interval/max_keep_ckpts/... are kept, only the type changes;
# - loss_guard: LossGuardHook; NaN/inf losses stop the run (action='skip'
#   drops the step instead:
#   --cfg-options default_hooks.loss_guard.action=skip);
# - rng_state: RngStateHook; RNG states in the checkpoint for exact resume.
# configs/_base_/default_runtime.py applies them; a config built on an
# mmdet3d config instead lists this file as a second base and sets
# `default_hooks = _base_.hilda_long_run_hooks` (merged into mmdet3d's).
# Named default hooks, not custom_hooks, so that configs setting their own
# custom_hooks keep them.
hilda_long_run_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),
    loss_guard=dict(type='LossGuardHook', action='raise'),
    rng_state=dict(type='RngStateHook'))
# True: unreadable samples (truncated/empty scan, missing image) are logged
# once each and replaced instead of stopping the run (tools/train.py wraps
# the training set in SkipBadSamplesDataset with skip_bad_samples_cfg).
skip_bad_samples = False
skip_bad_samples_cfg = dict(max_skip_ratio=0.01, max_consecutive=16)
