# Label-efficient nuScenes-lidarseg fine-tuning: the schedule of each label
# share, derived from its number of epochs. The shares are the splits of
# tools/create_label_efficient_splits.py (seed 0, frames ranked by a hash of
# their token; each split nested in the larger ones):
#   python tools/create_label_efficient_splits.py \
#       data/nuscenes/nuscenes_infos_train.pkl --percents 1 5 10 25 100 \
#       --seed 0 --out-dir data/nuscenes/splits
# Fewer scans per epoch, so more epochs; the learning rate drops at 2/3 and
# 8/9 of them, as in mmdet3d's 3x schedule, and the model is evaluated about
# ten times a run. A config of one share (configs/finetune/*-<p>pct.py)
# inherits the 100 % config and this file and takes its three deltas:
#   train_dataloader, train_cfg, param_scheduler = \
#       _base_.label_efficient['<p>pct']
epochs_per_share = {1: 100, 5: 50, 10: 36, 25: 36}
label_efficient = {
    f'{percent}pct': [
        # train_dataloader
        dict(
            dataset=dict(subset_file='splits/nuscenes_infos_train_'
                         f'{percent}pct_seed0.json')),
        # train_cfg
        dict(max_epochs=epochs, val_interval=-(-epochs // 10)),
        # param_scheduler
        [
            dict(
                type='MultiStepLR',
                begin=0,
                end=epochs,
                by_epoch=True,
                milestones=[round(epochs * 2 / 3),
                            round(epochs * 8 / 9)],
                gamma=0.1)
        ]
    ]
    for percent, epochs in epochs_per_share.items()
}
# The same shares for a warm-up + cosine recipe (PTv3's): the learning rate
# rises over the first `cosine_warmup_epochs`, then follows a cosine to 1e-3
# of its peak at the last epoch.
cosine_warmup_epochs = 2
label_efficient_cosine = {
    share: [
        dataloader, train_cfg_,
        [
            dict(
                type='LinearLR',
                start_factor=0.1,
                by_epoch=True,
                begin=0,
                end=cosine_warmup_epochs,
                convert_to_iter_based=True),
            dict(
                type='CosineAnnealingLR',
                by_epoch=True,
                begin=cosine_warmup_epochs,
                end=train_cfg_['max_epochs'],
                T_max=train_cfg_['max_epochs'] - cosine_warmup_epochs,
                eta_min_ratio=1e-3,
                convert_to_iter_based=True)
        ]
    ]
    for share, (dataloader, train_cfg_, _) in label_efficient.items()
}
