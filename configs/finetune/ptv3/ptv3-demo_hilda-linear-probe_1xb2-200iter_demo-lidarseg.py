# Demo linear probing of the HilDA PTv3: backbone frozen (no gradients,
# BatchNorm in eval mode with the pre-trained statistics), only
# MinkUNetHead's linear classifier trains.
_base_ = ['./ptv3-demo_hilda_1xb2-200iter_demo-lidarseg.py']

custom_hooks = _base_.custom_hooks + [
    dict(type='FreezeModulesHook', modules=['backbone']),
]
# A linear classifier on fixed features takes a larger step (as for the
# MinkUNet demo probe).
optim_wrapper = dict(optimizer=dict(lr=0.02, weight_decay=0.0))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
