# HilDA pre-training as in the paper: MinkUNet34 from DINOv2 ViT-B/14 on
# nuScenes (6 cameras, t-1/t0/t+1), 8 GPUs x 2 samples, AMP, 50 epochs.
#   bash tools/dist_train.sh \
#       configs/hilda/hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py 8
_base_ = [
    '../_base_/datasets/hilda_nuscenes.py',
    '../_base_/models/hilda_minkunet34_dinov2-vitb14.py',
    '../_base_/schedules/hilda_adamw_50e.py',
    '../_base_/default_runtime.py',
]

# The denoiser works on the occupancy target's grid.
model = dict(diffusion_head=dict(**_base_.bev_grid))
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
# Heads that a batch does not use (e.g. no correspondence) keep DDP happy.
find_unused_parameters = True
# The student's BatchNorms normalise over the voxels of all GPUs, as one
# process with the whole 8 x 2 batch would. mmengine converts them only in a
# distributed run (one process keeps BatchNorm); torch's SyncBatchNorm needs
# CUDA, so a CPU (gloo) run of this config needs
# `--cfg-options sync_bn=None`.
sync_bn = 'torch'
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3))
log_processor = dict(by_epoch=True)
# gradnorm_<term> in the log: how hard each loss pushes the student's last
# stage (computed on the logger's iterations only).
custom_hooks = [dict(type='LossGradNormHook')]
# Each rank its own seed: otherwise all ranks draw the same augmentations
# (DDP broadcasts rank 0's initial weights anyway). The diffusion noise is
# drawn per sample (OccupancyDiffusionHead's noise_per_sample) and does not
# depend on it.
randomness = dict(seed=0, diff_rank_seed=True)
