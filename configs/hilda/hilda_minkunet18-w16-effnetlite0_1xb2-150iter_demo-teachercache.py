# The demo pre-training on cached teacher features: the teacher ran once
# over the un-augmented images and no image is decoded while training
# (point augmentation stays on). Write the cache first:
#   python tools/cache_teacher_features.py \
#       configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py
#   python tools/train.py \
#       configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py
_base_ = ['./hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py']

teacher_cache = 'data/hilda_demo/teacher_cache/effnetlite0_224x392/'
# The demo pipeline with its two image steps replaced by the cache reader;
# occlusion test, point augmentation and target are the demo's own steps.
load_teacher_features = dict(
    type='LoadTeacherFeatures',
    cache_dir=teacher_cache,
    image_size=_base_.image_size)
cached_pipeline = [
    _base_.load_points, _base_.load_temporal_points, load_teacher_features,
    _base_.project_points, _base_.point_aug, _base_.occupancy_target,
    _base_.pack_inputs
]
train_dataloader = dict(dataset=dict(pipeline=cached_pipeline))
