# Label-efficient nuScenes-lidarseg fine-tuning of PTv3 from HilDA weights:
# 25 % of the training scans, 36 epochs (the split and epochs of this share
# in ../../_base_/schedules/label_efficient_lidarseg.py, as for MinkUNet34),
# PTv3's warm-up and cosine over them. Everything else is the 100 % config.
_base_ = [
    './ptv3_hilda_8xb2-50e_nus-lidarseg.py',
    '../../_base_/schedules/label_efficient_lidarseg.py'
]

train_dataloader, train_cfg, param_scheduler = \
    _base_.label_efficient_cosine['25pct']
