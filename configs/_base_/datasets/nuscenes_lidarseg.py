# nuScenes-lidarseg, 16 classes (NuScenesLidarSegDataset): mmdet3d nuScenes
# infos v1.1 with `pts_semantic_mask_path` (tools/create_hilda_infos.py or
# mmdet3d's converter with the lidarseg extension) and the uint8 labels under
# lidarseg/v1.0-trainval. Intensity stays raw (0-255), as in HilDA
# pre-training (configs/_base_/datasets/hilda_nuscenes.py).
dataset_type = 'NuScenesLidarSegDataset'
data_root = 'data/nuscenes/'
class_names = [
    'barrier', 'bicycle', 'bus', 'car', 'construction_vehicle', 'motorcycle',
    'pedestrian', 'traffic_cone', 'trailer', 'truck', 'driveable_surface',
    'other_flat', 'sidewalk', 'terrain', 'manmade', 'vegetation'
]
metainfo = dict(classes=class_names)
ignore_index = len(class_names)
data_prefix = dict(
    pts='samples/LIDAR_TOP', pts_semantic_mask='lidarseg/v1.0-trainval')
input_modality = dict(use_lidar=True, use_camera=False)
backend_args = None

load_points = dict(
    type='LoadPointsFromFile',
    coord_type='LIDAR',
    load_dim=5,
    use_dim=4,
    backend_args=backend_args)
load_labels = dict(
    type='LoadAnnotations3D',
    with_bbox_3d=False,
    with_label_3d=False,
    with_seg_3d=True,
    seg_3d_dtype='np.uint8',
    backend_args=backend_args)
train_pipeline = [
    load_points, load_labels,
    dict(type='PointSegClassMapping'),
    dict(
        type='RandomFlip3D',
        sync_2d=False,
        flip_ratio_bev_horizontal=0.5,
        flip_ratio_bev_vertical=0.5),
    dict(
        type='GlobalRotScaleTrans',
        rot_range=[-3.1415926, 3.1415926],
        scale_ratio_range=[0.95, 1.05],
        translation_std=[0.1, 0.1, 0.1]),
    dict(type='Pack3DDetInputs', keys=['points', 'pts_semantic_mask'])
]
test_pipeline = [
    load_points, load_labels,
    dict(type='PointSegClassMapping'),
    dict(type='Pack3DDetInputs', keys=['points', 'pts_semantic_mask'])
]
# Test-time augmentation (tools/test.py --tta): BEV flips x rotations x
# scales, as mmdet3d's segmentation dataset bases.
tta_pipeline = [
    load_points, load_labels,
    dict(type='PointSegClassMapping'),
    dict(
        type='TestTimeAug',
        transforms=[[
            dict(
                type='RandomFlip3D',
                sync_2d=False,
                flip_ratio_bev_horizontal=h,
                flip_ratio_bev_vertical=v) for h in (0., 1.) for v in (0., 1.)
        ],
                    [
                        dict(
                            type='GlobalRotScaleTrans',
                            rot_range=[r, r],
                            scale_ratio_range=[s, s],
                            translation_std=[0, 0, 0])
                        for r in [-0.78539816, 0.0, 0.78539816]
                        for s in [0.95, 1.0, 1.05]
                    ], [dict(type='Pack3DDetInputs', keys=['points'])]])
]

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='nuscenes_infos_train.pkl',
        data_prefix=data_prefix,
        pipeline=train_pipeline,
        metainfo=metainfo,
        modality=input_modality,
        ignore_index=ignore_index,
        # label-efficient fine-tuning: a split written by
        # tools/create_label_efficient_splits.py
        subset_file=None,
        backend_args=backend_args))
test_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='nuscenes_infos_val.pkl',
        data_prefix=data_prefix,
        pipeline=test_pipeline,
        metainfo=metainfo,
        modality=input_modality,
        ignore_index=ignore_index,
        test_mode=True,
        backend_args=backend_args))
val_dataloader = test_dataloader

val_evaluator = dict(type='SegMetric')
test_evaluator = val_evaluator

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='Det3DLocalVisualizer', vis_backends=vis_backends, name='visualizer')

tta_model = dict(type='Seg3DTTAModel')
