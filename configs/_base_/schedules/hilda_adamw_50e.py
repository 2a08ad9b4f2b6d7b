# 50 epochs of AdamW with linear warm-up and cosine decay (per iteration).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=False,
        begin=0,
        end=1000),
    dict(
        type='CosineAnnealingLR',
        T_max=50,
        eta_min_ratio=0.01,
        by_epoch=True,
        convert_to_iter_based=True,
        begin=0,
        end=50)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50)
val_cfg = None
test_cfg = None
# lr above is for 8 GPUs x 2 samples.
auto_scale_lr = dict(enable=False, base_batch_size=16)
