# Ablation, SLidR-style baseline: superpixel-pooled InfoNCE on the last
# level only, no global token, no diffusion. Superpixels are computed on
# the fly after the image augmentations (fast-slic when installed).
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

num_levels = 1  # top-level and model copies agree (tools check)
model = dict(
    student=dict(num_levels=1),
    teacher=dict(num_levels=1),
    distill_head=dict(
        loss=dict(
            type='SuperpixelInfoNCELoss', temperature=0.07, loss_weight=1.0)),
    global_token=None,
    diffusion_head=None)

# The paper's steps without the t-1/t+1 scans and the occupancy target,
# with superpixels of the augmented images.
slidr_pipeline = [
    _base_.load_points, _base_.load_images, _base_.image_aug,
    dict(type='ImageSuperpixels', num_segments=150), _base_.project_points,
    _base_.point_aug, _base_.pack_inputs
]
train_dataloader = dict(dataset=dict(temporal=False, pipeline=slidr_pipeline))
