# nuScenes-lidarseg (16 classes) fine-tuning of mmdet3d's MinkUNet34 (w32,
# spconv) from the HilDA student of
# configs/hilda/hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py:
# mmdet3d's MinkUNet34 (w32, spconv: the model settings of mmdet3d 1.4's
# minkunet34_w32_spconv_8xb2-laser-polar-mix-3x_semantickitti.py) with its
# model base, 3x schedule and runtime, on our nuScenes-lidarseg dataset base
# (configs/_base_/datasets/nuscenes_lidarseg.py), 0.1 m voxels as in
# pre-training, and the backbone initialised from the export:
#   W=work_dirs/hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes
#   python tools/model_converters/hilda_to_mmdet3d.py $W/epoch_50.pth \
#       checkpoints/hilda_minkunet34_w32_nuscenes.pth --target minkunet
#   bash tools/dist_train.sh configs/finetune/THIS_FILE.py 8
# Scans keep nuScenes' raw intensity (0-255), like pre-training.
_base_ = [
    'mmdet3d::_base_/models/minkunet.py',
    '../_base_/datasets/nuscenes_lidarseg.py',
    'mmdet3d::_base_/schedules/schedule-3x.py',
    'mmdet3d::_base_/default_runtime.py', '../_base_/long_run.py',
    '../_base_/finetune/hilda_weights.py'
]

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

pretrained = 'checkpoints/hilda_minkunet34_w32_nuscenes.pth'
num_classes = 16

model = dict(
    data_preprocessor=dict(
        batch_first=True,
        max_voxels=None,
        voxel_layer=dict(voxel_size=[0.1, 0.1, 0.1])),
    backbone=dict(
        encoder_blocks=[2, 3, 4, 6],
        sparseconv_backend='spconv',
        init_cfg=dict(_base_.hilda_backbone_init, checkpoint=pretrained)),
    decode_head=dict(num_classes=num_classes, ignore_index=num_classes))
# Long-run protections (atomic checkpoints, loss guard, RNG state) as
# named default hooks, merged into mmdet3d's; a checkpoint every epoch, as
# mmdet3d's MinkUNet configs save.
default_hooks = dict(
    _base_.hilda_long_run_hooks,
    checkpoint=dict(type='AtomicCheckpointHook', interval=1))
custom_hooks = [dict(_base_.hilda_weights_check, module='backbone')]
