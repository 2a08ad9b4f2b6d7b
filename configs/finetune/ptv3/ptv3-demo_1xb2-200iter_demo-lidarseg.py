# Baseline of the demo fine-tuning with PTv3: the MinkUNet18 demo segmentor
# (../minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py: mmdet3d's
# MinkUNet EncoderDecoder3D, demo data, 0.2 m voxels, 200 iterations) with
# the small PTv3 of the demo pre-training
# (configs/hilda/hilda_ptv3-demo-effnetlite0_1xb2-150iter_demo.py) as the
# backbone, trained from random weights. ptv3-demo_hilda_1xb2-200iter_demo-
# lidarseg.py is the same run initialised from HilDA weights.
_base_ = ['../minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='PointTransformerV3',
        in_channels=4,
        strides=(2, 2, 2),
        enc_depths=(1, 1, 1, 1),
        enc_channels=(16, 32, 64, 128),
        enc_num_heads=(1, 2, 4, 8),
        enc_patch_size=128,
        dec_depths=(1, 1, 1),
        dec_channels=(48, 48, 64),
        dec_num_heads=(2, 2, 4),
        dec_patch_size=128,
        drop_path=0.0),
    decode_head=dict(channels=48))
# PTv3's AdamW step (the MinkUNet demo takes 0.008).
optim_wrapper = dict(optimizer=dict(lr=0.002))
