# Baseline of the demo fine-tuning with PTv3: the MinkUNet18 demo segmentor
# (../minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py: mmdet3d's
# MinkUNet EncoderDecoder3D, demo data, 0.2 m voxels, 200 iterations) with
# the small PTv3 of the demo pre-training
# (configs/hilda/hilda_ptv3-demo-effnetlite0_1xb2-150iter_demo.py) as the
# backbone, trained from random weights. ptv3-demo_hilda_1xb2-200iter_demo-
# lidarseg.py is the same run initialised from HilDA weights.
_base_ = [
    '../minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py',
    '../../_base_/models/ptv3_sizes.py'
]

model = dict(
    backbone=dict(
        _delete_=True, type='PointTransformerV3', **_base_.ptv3_demo),
    decode_head=dict(channels=48))
# PTv3's AdamW step (the MinkUNet demo takes 0.008).
optim_wrapper = dict(optimizer=dict(lr=0.002))
