# HilDA pre-training data on nuScenes: t0 scan + 6 cameras + the t-1 / t+1
# keyframes (infos from tools/create_hilda_infos.py), correspondence-keeping
# augmentations and the BEV occupancy target of t+1.
dataset_type = 'HilDANuScenesDataset'
data_root = 'data/nuscenes/'
cam_names = [
    'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
    'CAM_BACK_LEFT', 'CAM_BACK_RIGHT'
]
data_prefix = dict(
    pts='samples/LIDAR_TOP',
    sweeps='sweeps/LIDAR_TOP',
    pts_semantic_mask='lidarseg/v1.0-trainval',
    **{cam: f'samples/{cam}'
       for cam in cam_names})
backend_args = None

# Teacher input: a multiple of the ViT patch (14) in both directions.
image_size = (224, 448)  # (H, W)
occupancy_range = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
occ_cell_size = 0.8
# Binary BEV occupancy (paper); more height bins are an option.
occ_height_bins = 1

pretrain_pipeline = [
    dict(
        type='LoadCheckedPointsFromFile',
        coord_type='LIDAR',
        load_dim=5,
        use_dim=4,
        backend_args=backend_args),
    dict(
        type='LoadTemporalPoints',
        load_dim=5,
        use_dim=4,
        backend_args=backend_args),
    dict(
        type='LoadCheckedMultiViewImages',
        num_views=6,
        backend_args=backend_args),
    dict(
        type='MultiViewImageAug',
        final_size=image_size,
        resize_range=(1.0, 1.15),
        flip_ratio=0.5),
    # Occlusion: the camera ray must cross only space the LiDAR saw empty
    # (occlusion='free_space', the default; 'depth_cells' is the earlier
    # 14 px nearest-depth test). Ground by Patchwork++ (nuScenes' 1.84 m).
    dict(type='ProjectPointsToImages', occlusion='free_space'),
    dict(
        type='ConsistentPointAug',
        rot_range=(-3.1415926, 3.1415926),
        scale_ratio_range=(0.95, 1.05),
        translation_std=(0.1, 0.1, 0.1),
        flip_ratio_bev_horizontal=0.5,
        flip_ratio_bev_vertical=0.5),
    dict(
        type='BEVOccupancyTarget',
        point_cloud_range=occupancy_range,
        cell_size=occ_cell_size,
        num_height_bins=occ_height_bins,
        # The paper's target has no ground: Patchwork++ removes it
        # (remove_ground=False keeps it, an ablation).
        remove_ground=True,
        ground_segmenter=dict(
            type='PatchworkPPGroundSegmenter', sensor_height=1.84)),
    dict(type='PackHilDAInputs'),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='nuscenes_infos_train.pkl',
        data_prefix=data_prefix,
        pipeline=pretrain_pipeline,
        temporal=True,
        test_mode=False,
        backend_args=backend_args))
