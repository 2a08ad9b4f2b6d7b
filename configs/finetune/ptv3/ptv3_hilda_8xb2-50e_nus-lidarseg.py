# nuScenes-lidarseg (16 classes) fine-tuning of Point Transformer V3 from the
# HilDA student of
# configs/hilda/hilda_ptv3-dinov2-vitb14_8xb2-amp-50e_nuscenes.py, in the
# mmdet3d style of the MinkUNet34 configs (../minkunet34-w32_spconv-hilda_
# 8xb2-3x_nus-lidarseg.py): mmdet3d's MinkUNet segmentor (EncoderDecoder3D:
# voxelising data preprocessor, backbone, MinkUNetHead = one linear layer on
# the voxel features, mapped back to the points) with PTv3 as the backbone,
# on our nuScenes-lidarseg dataset base. PTv3's published nuScenes recipe:
# its outdoor size, 0.05 m grid, AdamW (lr 0.002, weight decay 0.005, the
# blocks at a tenth of it), 50 epochs, one-cycle shape (here a 2-epoch
# linear warm-up from lr / 10, then cosine to lr / 1000: mmengine's
# OneCycleLR would overwrite the blocks' lower learning rate), AMP.
#   W=work_dirs/hilda_ptv3-dinov2-vitb14_8xb2-amp-50e_nuscenes
#   python tools/model_converters/hilda_to_mmdet3d.py $W/epoch_50.pth \
#       checkpoints/hilda_ptv3_nuscenes.pth --target ptv3
#   bash tools/dist_train.sh configs/finetune/ptv3/THIS_FILE.py 8
_base_ = [
    'mmdet3d::_base_/models/minkunet.py',
    '../../_base_/datasets/nuscenes_lidarseg.py',
    'mmdet3d::_base_/default_runtime.py', '../../_base_/long_run.py',
    '../../_base_/models/ptv3_sizes.py',
    '../../_base_/finetune/hilda_weights.py'
]

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

pretrained = 'checkpoints/hilda_ptv3_nuscenes.pth'
num_classes = 16
num_epochs = 50
warmup_epochs = 2

model = dict(
    data_preprocessor=dict(
        batch_first=True,
        max_voxels=None,
        voxel_layer=dict(voxel_size=[0.05, 0.05, 0.05])),
    backbone=dict(
        _delete_=True,
        type='PointTransformerV3',
        **_base_.ptv3_paper,
        init_cfg=dict(_base_.hilda_backbone_init, checkpoint=pretrained)),
    decode_head=dict(
        channels=64, num_classes=num_classes, ignore_index=num_classes))

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=0.002, weight_decay=0.005),
    paramwise_cfg=dict(custom_keys={'.blocks.': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=warmup_epochs,
        end=num_epochs,
        T_max=num_epochs - warmup_epochs,
        eta_min_ratio=1e-3,
        convert_to_iter_based=True)
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=num_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=16)

# Long-run protections as named default hooks, merged into mmdet3d's; a
# checkpoint every epoch.
default_hooks = dict(
    _base_.hilda_long_run_hooks,
    checkpoint=dict(type='AtomicCheckpointHook', interval=1))
custom_hooks = [dict(_base_.hilda_weights_check, module='backbone')]
