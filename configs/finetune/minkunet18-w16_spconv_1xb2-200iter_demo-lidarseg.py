# Baseline for the demo fine-tuning: mmdet3d's MinkUNet segmentor with the
# small student of the demo pre-training
# (configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py:
# MinkUNet18 w16, 0.2 m voxels) trained from random weights on the demo
# world's lidarseg labels; evaluated on the held-out demo scenes.
# minkunet18-w16_spconv-hilda_1xb2-200iter_demo-lidarseg.py is the same run
# initialised from HilDA weights (tools/finetune_demo.py runs both).
_base_ = [
    'mmdet3d::_base_/models/minkunet.py',
    '../_base_/datasets/hilda_demo_lidarseg.py',
    '../_base_/default_runtime.py',
]

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

num_classes = 14  # = len(class_names) of hilda_demo_lidarseg.py
max_iters = 200

model = dict(
    # mmdet3d's MinkUNet voxelisation, on CPU too.
    data_preprocessor=dict(
        type='HilDADataPreprocessor',
        batch_first=True,
        max_voxels=None,
        voxel_layer=dict(voxel_size=[0.2, 0.2, 0.2])),
    backbone=dict(
        sparseconv_backend='spconv',
        base_channels=16,
        encoder_channels=[16, 32, 64, 128],
        encoder_blocks=[2, 2, 2, 2],
        decoder_channels=[128, 64, 48, 48],
        decoder_blocks=[2, 2, 2, 2]),
    decode_head=dict(
        channels=48, num_classes=num_classes, ignore_index=num_classes))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.008, weight_decay=0.01),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        T_max=max_iters,
        eta_min=1e-5)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='AtomicCheckpointHook', by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=2)
