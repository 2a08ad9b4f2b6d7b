# Label-efficient nuScenes-lidarseg fine-tuning from HilDA weights: 25 % of
# the training scans, 36 epochs (the schedule of this share in
# ../_base_/schedules/label_efficient_lidarseg.py, which also says how to
# write the split). Everything else is the 100 % config.
_base_ = [
    './minkunet34-w32_spconv-hilda_8xb2-3x_nus-lidarseg.py',
    '../_base_/schedules/label_efficient_lidarseg.py'
]

train_dataloader, train_cfg, param_scheduler = \
    _base_.label_efficient['25pct']
