# HilDA pre-training of Point Transformer V3 from DINOv2 ViT-B/14 on nuScenes
# (6 cameras, t-1/t0/t+1), 8 GPUs x 2 samples, AMP, 50 epochs: the MinkUNet34
# paper config (hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py: the
# objectives, teacher, schedule, AMP, SyncBN, hooks) with the student
# replaced by PTv3 in its published outdoor (nuScenes) size: encoder depths
# (2, 2, 2, 6, 2), channels (32, 64, 128, 256, 512), heads (2, 4, 8, 16, 32);
# decoder depths (2, 2, 2, 2), channels (64, 64, 128, 256), heads
# (4, 4, 8, 16); pooling strides (2, 2, 2, 2); patches of 1024 voxels; the
# z / z-trans / Hilbert / Hilbert-trans orders, shuffled per stage; stochastic
# depth 0.3; PTv3's 0.05 m nuScenes grid. Its last two decoder stages (64 and
# 64 channels, strides 2 and 1) are the two distilled levels (K = 1).
#   bash tools/dist_train.sh \
#       configs/hilda/hilda_ptv3-dinov2-vitb14_8xb2-amp-50e_nuscenes.py 8
# Export for the downstream segmentor
# (configs/finetune/ptv3_hilda_8xb2-3x_nus-lidarseg.py):
#   python tools/model_converters/hilda_to_mmdet3d.py \
#       work_dirs/hilda_ptv3-dinov2-vitb14_8xb2-amp-50e_nuscenes/epoch_50.pth \
#       checkpoints/hilda_ptv3_nuscenes.pth --target ptv3
_base_ = [
    './hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py',
    '../_base_/models/ptv3_sizes.py'
]

voxel_size = 0.05

model = dict(
    data_preprocessor=dict(
        # PTv3 trains on every voxel of a nuScenes scan (no cap).
        max_voxels=None,
        voxel_layer=dict(voxel_size=[voxel_size] * 3)),
    student=dict(
        _delete_=True,
        type='MultiLevelPTv3',
        **_base_.ptv3_paper,
        num_levels={{_base_.num_levels}}))
