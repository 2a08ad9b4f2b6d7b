# Demo linear probing: HilDA backbone frozen (no gradients, BatchNorm in
# eval mode with the pre-trained statistics), only MinkUNetHead's linear
# classifier trains.
_base_ = ['./minkunet18-w16_spconv-hilda_1xb2-200iter_demo-lidarseg.py']

# The base's hooks (weights check) plus the freeze.
custom_hooks = _base_.custom_hooks + [
    dict(type='FreezeModulesHook', modules=['backbone']),
]
# A linear classifier on fixed features takes a larger step.
optim_wrapper = dict(optimizer=dict(lr=0.02, weight_decay=0.0))
# Frozen parameters get no gradient; DDP must not wait for them.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
