# Ablation, SLidR-style baseline: superpixel-pooled InfoNCE on the last
# level only, no global token, no diffusion. Superpixels are computed on
# the fly after the image augmentations (fast-slic when installed).
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(
    student=dict(num_levels=1),
    teacher=dict(num_levels=1),
    distill_head=dict(
        loss=dict(
            type='SuperpixelInfoNCELoss', temperature=0.07, loss_weight=1.0)),
    global_token=None,
    diffusion_head=None)

slidr_pipeline = [
    dict(
        type='LoadCheckedPointsFromFile',
        coord_type='LIDAR',
        load_dim=5,
        use_dim=4),
    dict(type='LoadCheckedMultiViewImages', num_views=6),
    dict(
        type='MultiViewImageAug',
        final_size=(224, 448),
        resize_range=(1.0, 1.15),
        flip_ratio=0.5),
    dict(type='ImageSuperpixels', num_segments=150),
    dict(type='ProjectPointsToImages'),
    dict(
        type='ConsistentPointAug',
        rot_range=(-3.1415926, 3.1415926),
        scale_ratio_range=(0.95, 1.05),
        translation_std=(0.1, 0.1, 0.1)),
    dict(type='PackHilDAInputs'),
]
train_dataloader = dict(dataset=dict(temporal=False, pipeline=slidr_pipeline))
