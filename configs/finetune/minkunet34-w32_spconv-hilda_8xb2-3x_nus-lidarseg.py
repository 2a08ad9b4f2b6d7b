# nuScenes-lidarseg (16 classes) fine-tuning of mmdet3d's MinkUNet34 (w32,
# spconv) from the HilDA student of
# configs/hilda/hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py:
# mmdet3d's own config (model, 3x schedule, runtime) with the dataset
# swapped to NuScenesLidarSegDataset (as in
# configs/_base_/datasets/nuscenes_lidarseg.py), 0.1 m voxels as in
# pre-training, and the backbone initialised from the export:
#   W=work_dirs/hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes
#   python tools/model_converters/hilda_to_mmdet3d.py $W/epoch_50.pth \
#       checkpoints/hilda_minkunet34_w32_nuscenes.pth --target minkunet
#   bash tools/dist_train.sh configs/finetune/THIS_FILE.py 8
# Scans keep nuScenes' raw intensity (0-255), like pre-training.
_base_ = [
    'mmdet3d::minkunet/'
    'minkunet34_w32_spconv_8xb2-laser-polar-mix-3x_semantickitti.py',
    '../_base_/long_run.py'
]

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

pretrained = 'checkpoints/hilda_minkunet34_w32_nuscenes.pth'
num_classes = 16

model = dict(
    data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.1, 0.1, 0.1])),
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(num_classes=num_classes, ignore_index=num_classes))
# Long-run protections (atomic checkpoints, loss guard, RNG state) as
# named default hooks, merged into mmdet3d's.
default_hooks = _base_.hilda_long_run_hooks
custom_hooks = [
    dict(
        type='PretrainedWeightsCheckHook',
        module='backbone',
        min_loaded_ratio=1.0)
]

# The dataset of configs/_base_/datasets/nuscenes_lidarseg.py (it cannot be
# a second _base_ here: both define the dataloaders).
dataset_type = 'NuScenesLidarSegDataset'
data_root = 'data/nuscenes/'
class_names = [
    'barrier', 'bicycle', 'bus', 'car', 'construction_vehicle', 'motorcycle',
    'pedestrian', 'traffic_cone', 'trailer', 'truck', 'driveable_surface',
    'other_flat', 'sidewalk', 'terrain', 'manmade', 'vegetation'
]
metainfo = dict(classes=class_names)
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
train_dataloader = dict(
    _delete_=True,
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
        ignore_index=num_classes,
        # label-efficient variants set a split of
        # tools/create_label_efficient_splits.py here
        subset_file=None,
        backend_args=backend_args))
test_dataloader = dict(
    _delete_=True,
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
        ignore_index=num_classes,
        test_mode=True,
        backend_args=backend_args))
val_dataloader = test_dataloader
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
