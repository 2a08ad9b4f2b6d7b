# nuScenes-lidarseg linear probing of the HilDA MinkUNet34 (as SLidR and
# ScaLR report it): backbone frozen (no gradients, BatchNorm in eval mode
# with the pre-trained statistics, see FreezeModulesHook), only
# MinkUNetHead's linear classifier trains, on 100% of the training scans.
_base_ = [
    './minkunet34-w32_spconv-hilda_8xb2-3x_nus-lidarseg.py',
    '../_base_/finetune/linear_probe.py'
]

# The base's hooks (weights check) plus the freeze.
custom_hooks = _base_.custom_hooks + [_base_.linear_probe_freeze]
# A linear classifier on fixed features: larger step, no weight decay.
optim_wrapper = dict(optimizer=_base_.linear_probe_optimizer)
