# SemanticKITTI fine-tuning of mmdet3d's MinkUNet34 (w32, spconv, LaserMix /
# PolarMix, 3x schedule) from the HilDA student pre-trained on nuScenes:
# mmdet3d's config as it is, only the backbone's initialisation added.
# Note the domain gap this keeps: KITTI remission is in [0, 1] where
# nuScenes intensity (pre-training) is 0-255, and mmdet3d's KITTI voxels are
# 0.05 m where pre-training used 0.1 m.
#   bash tools/dist_train.sh configs/finetune/THIS_FILE.py 8
_base_ = [
    'mmdet3d::minkunet/'
    'minkunet34_w32_spconv_8xb2-laser-polar-mix-3x_semantickitti.py',
    '../_base_/long_run.py', '../_base_/finetune/hilda_weights.py'
]

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

pretrained = 'checkpoints/hilda_minkunet34_w32_nuscenes.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(_base_.hilda_backbone_init, checkpoint=pretrained)))
# Long-run protections (atomic checkpoints, loss guard, RNG state) as
# named default hooks, merged into mmdet3d's.
default_hooks = _base_.hilda_long_run_hooks
custom_hooks = [dict(_base_.hilda_weights_check, module='backbone')]
