# HilDA on the embedded demo world, on CPU, with a small Point Transformer V3
# student: the MinkUNet18 demo (hilda_minkunet18-w16-effnetlite0_1xb2-150iter
# _demo.py: data, teacher, objectives, schedule) with the student replaced.
# Demo PTv3: 4 stages, one block each, channels (16, 32, 64, 128), decoder
# (48, 48, 64), patches of 128 voxels, no stochastic depth; the same orders,
# xCPE, pooling and attention as the paper size.
#   python tools/train.py \
#       configs/hilda/hilda_ptv3-demo-effnetlite0_1xb2-150iter_demo.py
_base_ = ['./hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py']

model = dict(
    student=dict(
        _delete_=True,
        type='MultiLevelPTv3',
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
        drop_path=0.0,
        num_levels={{_base_.num_levels}}))
