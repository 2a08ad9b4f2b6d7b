# HilDA pre-training data on the embedded demo world
# (tools/create_demo_data.py --out-dir data/hilda_demo): same dataset class
# and pipeline as nuScenes, smaller images and a smaller BEV range.
_base_ = ['./hilda_nuscenes.py']

data_root = 'data/hilda_demo/'
cam_names = [
    'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
    'CAM_BACK_LEFT', 'CAM_BACK_RIGHT'
]
data_prefix = dict(
    pts='samples/LIDAR_TOP',
    pts_semantic_mask='lidarseg/v1.0-demo',
    **{cam: f'samples/{cam}'
       for cam in cam_names})
# Demo images are 400x224; crops of 224x392 are 16x28 ViT patches.
image_size = (224, 392)
occupancy_range = [-32.0, -32.0, -3.0, 32.0, 32.0, 5.0]

pretrain_pipeline = [
    dict(
        type='LoadCheckedPointsFromFile',
        coord_type='LIDAR',
        load_dim=5,
        use_dim=4),
    dict(type='LoadTemporalPoints', load_dim=5, use_dim=4),
    dict(type='LoadCheckedMultiViewImages', num_views=6),
    dict(
        type='MultiViewImageAug',
        final_size=image_size,
        resize_range=(1.0, 1.15),
        flip_ratio=0.5),
    dict(type='ProjectPointsToImages', occlusion='free_space'),
    dict(
        type='ConsistentPointAug',
        rot_range=(-3.1415926, 3.1415926),
        scale_ratio_range=(0.95, 1.05),
        translation_std=(0.1, 0.1, 0.1)),
    dict(
        type='BEVOccupancyTarget',
        point_cloud_range=occupancy_range,
        cell_size=0.8,
        num_height_bins=1),
    dict(type='PackHilDAInputs'),
]

train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        data_prefix=data_prefix,
        pipeline=pretrain_pipeline))
