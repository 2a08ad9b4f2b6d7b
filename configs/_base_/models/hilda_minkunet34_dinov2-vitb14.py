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
_base_ = ['./teachers/dinov2-vitb14.py']

voxel_size = 0.1
num_levels = 2  # K + 1; the teacher config gives the same

model = dict(
    type='HilDAPretrainer',
    data_preprocessor=dict(
        type='HilDAPretrainDataPreprocessor',
        voxel=True,
        voxel_type='minkunet',
        batch_first=True,
        max_voxels=80000,
        voxel_layer=dict(
            max_num_points=-1,
            point_cloud_range=[-100, -100, -20, 100, 100, 20],
            voxel_size=[voxel_size] * 3,
            max_voxels=(-1, -1)),
        # The teacher's normalisation (ImageNet, RGB); images load as BGR.
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    student=dict(
        type='MultiLevelMinkUNet',
        in_channels=4,
        base_channels=32,
        num_stages=4,
        encoder_channels=[32, 64, 128, 256],
        encoder_blocks=[2, 3, 4, 6],
        decoder_channels=[256, 128, 96, 96],
        decoder_blocks=[2, 2, 2, 2],
        block_type='basic',
        sparseconv_backend='spconv',
        num_levels=num_levels,
        pad_spatial_shape=True),
    teacher={{_base_.dinov2_vitb14}},
    distill_head=dict(
        type='HierarchicalDistillHead',
        head_type='mlp',
        loss=dict(type='CosineDistanceLoss', loss_weight=1.0),
        # None: equal weights; weights are normalised to sum 1 (a mean
        # over levels, so loss_weight means the same for any num_levels).
        level_weights=None,
        max_pairs=200000),
    global_token=dict(
        type='GlobalTokenHead',
        pooling='max',
        camera_pooling='max',
        feature_level='last',
        head_type='mlp',
        loss=dict(type='FeatureMSELoss', loss_weight=0.5)),
    diffusion_head=dict(
        type='OccupancyDiffusionHead',
        mode='temporal',
        # The BEV grid (point_cloud_range, cell_size, num_height_bins) is
        # the dataset's bev_grid, set by the pre-training config.
        cond_channels=64,
        block_out_channels=(64, 128, 256),
        layers_per_block=2,
        num_train_timesteps=1000,
        # The paper's loss: epsilon MSE + lambda * ||x_occ - x_hat_occ||^2.
        # lambda and the schedule are not published: lambda = 1 and DDPM's
        # linear betas are the project's choice. Options: prediction_type
        # 'v_prediction' / 'sample', beta_schedule 'squaredcos_cap_v2',
        # num_noise_draws > 1 (t, noise) draws per sample and step.
        prediction_type='epsilon',
        x0_loss_weight=1.0,
        beta_schedule='linear',
        num_noise_draws=1,
        loss_weight=0.5))
