# HilDA as in the paper: MinkUNet34 (w32, spconv) student, frozen DINOv2
# ViT-B/14 teacher, K+1 = 4 levels, global token, temporal occupancy
# diffusion. The diffusion head's BEV grid must equal the dataset's
# BEVOccupancyTarget (configs/_base_/datasets/hilda_nuscenes.py).
voxel_size = 0.1
num_levels = 4

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
    teacher=dict(
        type='DINOv2Teacher',
        arch='dinov2-b',
        num_levels=num_levels,
        # Official DINOv2 or mmpretrain-format weights; no download here.
        checkpoint='checkpoints/dinov2_vitb14_pretrain.pth'),
    distill_neck=dict(
        type='HierarchicalDistillNeck',
        head_type='linear',
        loss_type='cosine',
        level_weights=[1.0] * num_levels,
        max_pairs=200000),
    global_token=dict(type='GlobalTokenHead', pooling='attention',
                      num_heads=4),
    diffusion_head=dict(
        type='OccupancyDiffusionHead',
        mode='temporal',
        point_cloud_range=[-51.2, -51.2, -5.0, 51.2, 51.2, 3.0],
        cell_size=0.8,
        num_height_bins=8,
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
        num_noise_draws=1),
    loss_weights=dict(distill=1.0, cls=0.5, diffusion=0.5))
