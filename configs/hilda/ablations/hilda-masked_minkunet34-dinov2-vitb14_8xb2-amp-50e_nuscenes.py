# Ablation: 'masked' occupancy diffusion instead of 'temporal': the points
# of random BEV patches are hidden from the student and their t0 occupancy
# is denoised; no sequence is needed (no t-1 / t+1 loading).
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(
    diffusion_head=dict(mode='masked', mask_patch_size=4, mask_ratio=0.3))

occupancy_range = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
masked_pipeline = [
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
    dict(type='ProjectPointsToImages'),
    dict(
        type='ConsistentPointAug',
        rot_range=(-3.1415926, 3.1415926),
        scale_ratio_range=(0.95, 1.05),
        translation_std=(0.1, 0.1, 0.1)),
    dict(
        type='BEVOccupancyTarget',
        point_cloud_range=occupancy_range,
        cell_size=0.8,
        num_height_bins=1,
        source_key='points'),
    dict(type='PackHilDAInputs'),
]
train_dataloader = dict(
    dataset=dict(temporal=False, pipeline=masked_pipeline))
