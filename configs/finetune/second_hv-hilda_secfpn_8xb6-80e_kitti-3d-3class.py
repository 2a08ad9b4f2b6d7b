# KITTI 3D detection (3 classes): mmdet3d's SECOND with its SparseEncoder
# (middle_encoder) initialised from a HilDA PointSparseEncoder student with
# SECOND's encoder settings (in_channels=4), through the converter and
# load_from (SparseEncoder has no init_cfg); the hook fails the run when the
# encoder did not come from the checkpoint.
#   python tools/model_converters/hilda_to_mmdet3d.py PRETRAIN_CKPT \
#       checkpoints/hilda_sparse-encoder_second.pth --target second
#   bash tools/dist_train.sh configs/finetune/THIS_FILE.py 8
_base_ = [
    'mmdet3d::second/second_hv_secfpn_8xb6-80e_kitti-3d-3class.py',
    '../_base_/long_run.py', '../_base_/finetune/hilda_weights.py'
]

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)

load_from = 'checkpoints/hilda_sparse-encoder_second.pth'
# Long-run protections (atomic checkpoints, loss guard, RNG state) as
# named default hooks, merged into mmdet3d's.
default_hooks = _base_.hilda_long_run_hooks
custom_hooks = [dict(_base_.hilda_weights_check, module='middle_encoder')]
