# Label-efficient nuScenes-lidarseg fine-tuning of PTv3 from HilDA weights:
# 5% of the training scans (the split of
# tools/create_label_efficient_splits.py, seed 0, as for MinkUNet34), 50
# epochs (the MinkUNet34 5% config's), warm-up and cosine over them.
# Everything else is the 100% config.
_base_ = ['./ptv3_hilda_8xb2-50e_nus-lidarseg.py']

num_epochs = 50
train_dataloader = dict(
    dataset=dict(subset_file='splits/nuscenes_infos_train_5pct_seed0.json'))
train_cfg = dict(max_epochs=num_epochs, val_interval=5)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=_base_.warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=_base_.warmup_epochs,
        end=num_epochs,
        T_max=num_epochs - _base_.warmup_epochs,
        eta_min_ratio=1e-3,
        convert_to_iter_based=True)
]
