# The demo pre-training on cached teacher features: the teacher ran once
# over the un-augmented images and no image is decoded while training
# (point augmentation stays on). Write the cache first:
#   python tools/cache_teacher_features.py \
#       configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py
#   python tools/train.py \
#       configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py
_base_ = ['./hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py']

teacher_cache = 'data/hilda_demo/teacher_cache/effnetlite0_224x392/'
# The pre-training pipeline with the two image steps replaced by the cache
# (mmengine replaces lists, so the whole pipeline is restated).
cached_pipeline = [
    dict(
        type='LoadCheckedPointsFromFile',
        coord_type='LIDAR',
        load_dim=5,
        use_dim=4),
    dict(type='LoadTemporalPoints', load_dim=5, use_dim=4),
    dict(
        type='LoadTeacherFeatures',
        cache_dir=teacher_cache,
        image_size={{_base_.image_size}}),
    dict(type='ProjectPointsToImages'),
    dict(
        type='ConsistentPointAug',
        rot_range=(-3.1415926, 3.1415926),
        scale_ratio_range=(0.95, 1.05),
        translation_std=(0.1, 0.1, 0.1)),
    dict(
        type='BEVOccupancyTarget',
        point_cloud_range={{_base_.occupancy_range}},
        cell_size=0.8,
        num_height_bins=1),
    dict(type='PackHilDAInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=cached_pipeline))
