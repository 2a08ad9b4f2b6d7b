# CenterPoint on the HilDA demo world's boxes (car, pedestrian), from random
# weights: mmdet3d's nuScenes CenterPoint (voxel 0.1, circle NMS) with the
# demo's grid (64 m x 64 m, 0.2 m voxels), one sweep of (x, y, z, intensity)
# as in HilDA pre-training, two heads and an iteration schedule for the CPU.
# Evaluated on the held-out demo scenes with CenterDistanceDetMetric
# (nuScenes AP by centre distance with the devkit's own code: mmdet3d's
# NuScenesMetric needs the full devkit tables, which the demo does not have).
# centerpoint_voxel02-hilda_second_secfpn_1xb2-300iter_demo.py starts
# from HilDA SparseEncoder weights.
_base_ = [
    'mmdet3d::centerpoint/centerpoint_voxel01_second_secfpn_'
    'head-circlenms_8xb4-cyclic-20e_nus-3d.py', '../_base_/long_run.py'
]

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

data_root = 'data/hilda_demo/'
class_names = ['car', 'pedestrian']
metainfo = dict(classes=class_names)
point_cloud_range = [-32.0, -32.0, -5.0, 32.0, 32.0, 3.0]
voxel_size = [0.2, 0.2, 0.2]
grid_size = [320, 320, 40]  # (x, y, z) = range / voxel_size
post_range = [-42.0, -42.0, -10.0, 42.0, 42.0, 10.0]
num_feats = 4  # x, y, z, intensity (the demo student's in_channels)
max_iters = 300

model = dict(
    data_preprocessor=dict(
        voxel_layer=dict(
            point_cloud_range=point_cloud_range,
            voxel_size=voxel_size,
            max_voxels=(40000, 40000))),
    pts_voxel_encoder=dict(num_features=num_feats),
    pts_middle_encoder=dict(
        in_channels=num_feats,
        sparse_shape=[grid_size[2] + 1, grid_size[1], grid_size[0]]),
    pts_bbox_head=dict(
        tasks=[
            dict(num_class=1, class_names=['car']),
            dict(num_class=1, class_names=['pedestrian']),
        ],
        bbox_coder=dict(
            pc_range=point_cloud_range[:2],
            post_center_range=post_range,
            voxel_size=voxel_size[:2])),
    train_cfg=dict(
        pts=dict(
            grid_size=grid_size,
            voxel_size=voxel_size,
            point_cloud_range=point_cloud_range)),
    test_cfg=dict(
        pts=dict(
            pc_range=point_cloud_range[:2],
            post_center_limit_range=post_range,
            voxel_size=voxel_size[:2],
            # circle-NMS radius per task (car, pedestrian), as in mmdet3d
            min_radius=[4, 0.175])))

load_points = dict(
    type='LoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4)
train_pipeline = [
    load_points,
    dict(type='LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True),
    dict(
        type='GlobalRotScaleTrans',
        rot_range=[-0.3925, 0.3925],
        scale_ratio_range=[0.95, 1.05],
        translation_std=[0, 0, 0]),
    dict(
        type='RandomFlip3D',
        sync_2d=False,
        flip_ratio_bev_horizontal=0.5,
        flip_ratio_bev_vertical=0.5),
    dict(type='PointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='ObjectRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='ObjectNameFilter', classes=class_names),
    dict(type='PointShuffle'),
    dict(
        type='Pack3DDetInputs',
        keys=['points', 'gt_bboxes_3d', 'gt_labels_3d'])
]
test_pipeline = [
    load_points,
    dict(type='PointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='Pack3DDetInputs', keys=['points'])
]

data_prefix = dict(pts='samples/LIDAR_TOP', img='', sweeps='')
dataloader_common = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    **dataloader_common,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='NuScenesDataset',
        data_root=data_root,
        ann_file='nuscenes_infos_train.pkl',
        pipeline=train_pipeline,
        metainfo=metainfo,
        modality=dict(use_lidar=True, use_camera=False),
        test_mode=False,
        data_prefix=data_prefix,
        use_valid_flag=True,
        box_type_3d='LiDAR'))
test_dataloader = dict(
    **dataloader_common,
    dataset=dict(
        data_root=data_root,
        data_prefix=data_prefix,
        pipeline=test_pipeline,
        metainfo=metainfo,
        use_valid_flag=True))
val_dataloader = test_dataloader

val_evaluator = dict(_delete_=True, type='CenterDistanceDetMetric')
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        T_max=max_iters,
        eta_min=1e-5)
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
# Long-run protections (atomic checkpoints, loss guard, RNG state) as
# named default hooks, merged into mmdet3d's.
default_hooks = dict(
    _base_.hilda_long_run_hooks,
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='AtomicCheckpointHook', by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=2)
