# nuScenes-lidarseg linear probing of the HilDA PTv3: backbone frozen (no
# gradients, BatchNorm in eval mode with the pre-trained statistics, see
# FreezeModulesHook), only MinkUNetHead's linear classifier trains, on 100%
# of the training scans (as for MinkUNet34).
_base_ = ['./ptv3_hilda_8xb2-50e_nus-lidarseg.py']

custom_hooks = _base_.custom_hooks + [
    dict(type='FreezeModulesHook', modules=['backbone']),
]
# A linear classifier on fixed features: larger step, no weight decay, no
# block multiplier (the blocks are frozen).
optim_wrapper = dict(
    optimizer=dict(lr=0.02, weight_decay=0.0),
    paramwise_cfg=dict(_delete_=True))
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
