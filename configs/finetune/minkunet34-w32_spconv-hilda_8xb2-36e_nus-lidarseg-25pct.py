# Label-efficient nuScenes-lidarseg fine-tuning from HilDA weights: 25% of the
# training scans (the split of tools/create_label_efficient_splits.py,
# seed 0, frames ranked by a hash of their token; nested in the larger
# splits), 36 epochs. Everything else is the 100% config.
#   python tools/create_label_efficient_splits.py \
#       data/nuscenes/nuscenes_infos_train.pkl --percents 1 5 10 25 100 \
#       --seed 0 --out-dir data/nuscenes/splits
_base_ = ['./minkunet34-w32_spconv-hilda_8xb2-3x_nus-lidarseg.py']

num_epochs = 36
train_dataloader = dict(
    dataset=dict(subset_file='splits/nuscenes_infos_train_25pct_seed0.json'))
# Fewer scans per epoch, more epochs (milestones at 2/3 and 8/9 as in
# mmdet3d's 3x schedule).
train_cfg = dict(max_epochs=num_epochs, val_interval=4)
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=num_epochs,
        by_epoch=True,
        milestones=[24, 32],
        gamma=0.1)
]
