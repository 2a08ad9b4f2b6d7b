# nuScenes 3D detection: mmdet3d's CenterPoint (voxel 0.1, circle NMS,
# cyclic 20 epochs) with its SparseEncoder (pts_middle_encoder) initialised
# from a HilDA PointSparseEncoder student. SparseEncoder is a plain
# nn.Module (no init_cfg), so the weights come through the converter and
# load_from, which loads the whole model non-strictly; the hook fails the
# run when the encoder did not come from the checkpoint.
#   python tools/model_converters/hilda_to_mmdet3d.py PRETRAIN_CKPT \
#       checkpoints/hilda_sparse-encoder_nuscenes_centerpoint.pth \
#       --target centerpoint
#   bash tools/dist_train.sh configs/finetune/THIS_FILE.py 8
# The student must have CenterPoint's encoder settings, including
# in_channels=5 (x, y, z, intensity, sweep time lag); otherwise conv_input
# differs and the hook reports it (lower min_loaded_ratio to accept a
# re-initialised input layer).
_base_ = [
    'mmdet3d::centerpoint/centerpoint_voxel01_second_secfpn_'
    'head-circlenms_8xb4-cyclic-20e_nus-3d.py', '../_base_/long_run.py',
    '../_base_/finetune/hilda_weights.py'
]

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

# Long-run protections (atomic checkpoints, loss guard, RNG state) as
# named default hooks, merged into mmdet3d's.
default_hooks = _base_.hilda_long_run_hooks
load_from = 'checkpoints/hilda_sparse-encoder_nuscenes_centerpoint.pth'
custom_hooks = [dict(_base_.hilda_weights_check, module='pts_middle_encoder')]
