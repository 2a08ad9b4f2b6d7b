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
# The BEV grid of the diffusion objective, stated once: the occupancy
# target below and the diffusion head (the pre-training configs set
# model.diffusion_head from it) use it. Binary BEV occupancy (paper); more
# height bins are an option.
bev_grid = dict(
    point_cloud_range=[-51.2, -51.2, -5.0, 51.2, 51.2, 3.0],
    cell_size=0.8,
    num_height_bins=1)

# The pre-training pipeline, step by step. Configs that change a step or
# leave one out (demo, teacher cache, masked and SLidR ablations) build
# their pipeline from these names, so the steps they keep stay identical.
load_points = dict(
    type='LoadCheckedPointsFromFile',
    coord_type='LIDAR',
    load_dim=5,
    use_dim=4,
    backend_args=backend_args)
load_temporal_points = dict(
    type='LoadTemporalPoints',
    load_dim=5,
    use_dim=4,
    backend_args=backend_args)
# JPEGs decoded reduced (1600x900 -> 800x450) as far as the teacher input
# allows (the project's option; decode_min_size=None decodes full size).
load_images = dict(
    type='LoadCheckedMultiViewImages',
    num_views=6,
    decode_min_size=image_size,
    backend_args=backend_args)
image_aug = dict(
    type='MultiViewImageAug',
    final_size=image_size,
    resize_range=(1.0, 1.15),
    flip_ratio=0.5)
# Occlusion: the camera ray must cross only space the LiDAR saw empty
# (occlusion='free_space', the default; 'depth_cells' is the earlier 14 px
# nearest-depth test). The test's t0 ground is one fitted plane (the
# project's option): about a sixth of Patchwork++'s CPU time, with kept /
# dropped shares per depth band within 0.4 points of Patchwork++'s or better
# (docs/data_pipeline.md#ground-for-the-occlusion-test).
# ground_segmenter=dict(type='PatchworkPPGroundSegmenter') restores it. The
# target's ground (occupancy_target) stays the paper's Patchwork++.
project_points = dict(
    type='ProjectPointsToImages',
    occlusion='free_space',
    ground_segmenter=dict(type='PlaneFitGroundSegmenter', sensor_height=1.84))
point_aug = dict(
    type='ConsistentPointAug',
    rot_range=(-3.1415926, 3.1415926),
    scale_ratio_range=(0.95, 1.05),
    translation_std=(0.1, 0.1, 0.1),
    flip_ratio_bev_horizontal=0.5,
    flip_ratio_bev_vertical=0.5)
occupancy_target = dict(
    type='BEVOccupancyTarget',
    **bev_grid,
    # The paper's target has no ground: Patchwork++ removes it
    # (remove_ground=False keeps it, an ablation).
    remove_ground=True,
    ground_segmenter=dict(
        type='PatchworkPPGroundSegmenter', sensor_height=1.84))
pack_inputs = dict(type='PackHilDAInputs')

pretrain_pipeline = [
    load_points, load_temporal_points, load_images, image_aug,
    project_points, point_aug, occupancy_target, pack_inputs
]

# Loader: 8 workers per GPU give many times what a batch of 2 per step needs
# (the measured rate per worker: docs/data_pipeline.md, "Loader settings for
# GPU runs"); pinned memory and 4 batches in flight per worker hide the copy
# and the slower samples.
train_dataloader = dict(
    batch_size=2,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    prefetch_factor=4,
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
