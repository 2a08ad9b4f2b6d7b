# Demo linear probing of the HilDA PTv3: backbone frozen (no gradients,
# BatchNorm in eval mode with the pre-trained statistics), only
# MinkUNetHead's linear classifier trains.
_base_ = [
    './ptv3-demo_hilda_1xb2-200iter_demo-lidarseg.py',
    '../../_base_/finetune/linear_probe.py'
]

custom_hooks = _base_.custom_hooks + [_base_.linear_probe_freeze]
# A linear classifier on fixed features takes a larger step (as for the
# MinkUNet demo probe).
optim_wrapper = dict(optimizer=_base_.linear_probe_optimizer)
