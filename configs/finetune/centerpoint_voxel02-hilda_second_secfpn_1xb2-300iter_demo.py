# Demo CenterPoint from HilDA weights: SparseEncoder (pts_middle_encoder)
# initialised from a HilDA PointSparseEncoder student (CenterPoint's encoder
# settings, in_channels=4) through the converter and load_from, since
# SparseEncoder is not a BaseModule (no init_cfg):
#   python tools/model_converters/hilda_to_mmdet3d.py PRETRAIN_CKPT \
#       work_dirs/demo/hilda_sparse-encoder_demo_centerpoint.pth \
#       --target centerpoint
# load_from loads the whole model non-strictly; PretrainedWeightsCheckHook
# makes sure the encoder really came from the checkpoint.
_base_ = [
    './centerpoint_voxel02_second_secfpn_1xb2-300iter_demo.py',
    '../_base_/finetune/hilda_weights.py'
]

load_from = 'work_dirs/demo/hilda_sparse-encoder_demo_centerpoint.pth'
custom_hooks = [dict(_base_.hilda_weights_check, module='pts_middle_encoder')]
