# Linear probe of a fine-tune config: the backbone is frozen
# (FreezeModulesHook: no gradient, BatchNorm statistics kept), only the
# decode head learns, with a larger learning rate and no weight decay;
# DDP is told that the frozen parameters get no gradient. A probe config
# inherits its fine-tune config and this file and sets
#   custom_hooks = _base_.custom_hooks + [_base_.linear_probe_freeze]
#   optim_wrapper = dict(optimizer=_base_.linear_probe_optimizer)
linear_probe_freeze = dict(type='FreezeModulesHook', modules=['backbone'])
linear_probe_optimizer = dict(lr=0.02, weight_decay=0.0)
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
