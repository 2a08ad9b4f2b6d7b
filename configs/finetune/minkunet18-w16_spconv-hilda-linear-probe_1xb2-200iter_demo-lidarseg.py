# Demo linear probing: HilDA backbone frozen (no gradients, BatchNorm in
# eval mode with the pre-trained statistics), only MinkUNetHead's linear
# classifier trains.
_base_ = [
    './minkunet18-w16_spconv-hilda_1xb2-200iter_demo-lidarseg.py',
    '../_base_/finetune/linear_probe.py'
]

# The base's hooks (weights check) plus the freeze.
custom_hooks = _base_.custom_hooks + [_base_.linear_probe_freeze]
# A linear classifier on fixed features takes a larger step.
optim_wrapper = dict(optimizer=_base_.linear_probe_optimizer)
