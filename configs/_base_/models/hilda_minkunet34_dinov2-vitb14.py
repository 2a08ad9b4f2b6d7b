# HilDA as in the paper (HILDA_SPEC "What the paper specifies"):
# MinkUNet34 (w32, spconv) student, frozen DINOv2 ViT-B/14 teacher.
# Paper choices (the defaults):
# - L_distill: the last two teacher blocks paired separately with the last
#   two student decoder stages (K = 1, num_levels=2), one small MLP head
#   H_l per level, cosine distance;
# - L_CLS: H_CLS (MLP) on the last level's point features, max over the
#   scan's points; teacher CLS tokens max-pooled over the cameras; MSE;
# - L_diffusion: temporal BEV occupancy diffusion.
# Project choices (unpublished, documented options): the loss weights, the
# level weights (equal, normalised to sum 1), max_pairs, the BEV grid and
# the denoiser's size. The diffusion head's BEV grid is the dataset's
# bev_grid (configs/_base_/datasets/hilda_nuscenes.py), which the
# pre-training configs pass to it.
# Other teacher sizes: configs/_base_/models/teachers/.
_base_ = ['./hilda_pretrainer.py', './teachers/dinov2-vitb14.py']

voxel_size = 0.1

model = dict(
    data_preprocessor=dict(
        max_voxels=80000,
        voxel_layer=dict(voxel_size=[voxel_size] * 3),
        # The teacher's normalisation (ImageNet, RGB).
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375]),
    student=dict(
        base_channels=32,
        encoder_channels=[32, 64, 128, 256],
        encoder_blocks=[2, 3, 4, 6],
        decoder_channels=[256, 128, 96, 96]),
    teacher={{_base_.dinov2_vitb14}},
    distill_head=dict(max_pairs=200000),
    diffusion_head=dict(
        cond_channels=64, block_out_channels=(64, 128, 256),
        layers_per_block=2))
