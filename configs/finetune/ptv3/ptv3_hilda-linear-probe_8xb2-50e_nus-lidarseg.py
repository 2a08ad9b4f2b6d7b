# nuScenes-lidarseg linear probing of the HilDA PTv3: backbone frozen (no
# gradients, BatchNorm in eval mode with the pre-trained statistics, see
# FreezeModulesHook), only MinkUNetHead's linear classifier trains, on 100%
# of the training scans (as for MinkUNet34).
_base_ = [
    './ptv3_hilda_8xb2-50e_nus-lidarseg.py',
    '../../_base_/finetune/linear_probe.py'
]

custom_hooks = _base_.custom_hooks + [_base_.linear_probe_freeze]
# A linear classifier on fixed features: larger step, no weight decay, no
# block multiplier (the blocks are frozen).
optim_wrapper = dict(
    optimizer=_base_.linear_probe_optimizer, paramwise_cfg=dict(_delete_=True))
