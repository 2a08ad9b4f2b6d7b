# HilDA on the embedded demo world, on CPU, with a small Point Transformer V3
# student: the MinkUNet18 demo (hilda_minkunet18-w16-effnetlite0_1xb2-150iter
# _demo.py: data, teacher, objectives, schedule) with the student replaced.
# Demo PTv3: 4 stages, one block each, channels (16, 32, 64, 128), decoder
# (48, 48, 64), patches of 128 voxels, no stochastic depth; the same orders,
# xCPE, pooling and attention as the paper size.
#   python tools/train.py \
#       configs/hilda/hilda_ptv3-demo-effnetlite0_1xb2-150iter_demo.py
_base_ = [
    './hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py',
    '../_base_/models/ptv3_sizes.py'
]

model = dict(
    student=dict(
        _delete_=True,
        **_base_.ptv3_demo_student,
        num_levels={{_base_.num_levels}}))
