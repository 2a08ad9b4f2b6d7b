# Demo fine-tuning of PTv3 from HilDA weights: the scratch baseline
# (ptv3-demo_1xb2-200iter_demo-lidarseg.py) with the backbone initialised
# from the exported demo student and the load checked.
#   python tools/train.py \
#       configs/hilda/hilda_ptv3-demo-effnetlite0_1xb2-150iter_demo.py \
#       --work-dir work_dirs/demo_ptv3
#   python tools/model_converters/hilda_to_mmdet3d.py \
#       work_dirs/demo_ptv3/iter_150.pth \
#       work_dirs/demo_ptv3/hilda_ptv3_demo.pth --target ptv3
#   python tools/train.py configs/finetune/ptv3/THIS_FILE.py
_base_ = [
    './ptv3-demo_1xb2-200iter_demo-lidarseg.py',
    '../../_base_/finetune/hilda_weights.py'
]

pretrained = 'work_dirs/demo_ptv3/hilda_ptv3_demo.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(_base_.hilda_backbone_init, checkpoint=pretrained)))
# Fails before the first iteration unless every backbone tensor equals the
# checkpoint's.
custom_hooks = [dict(_base_.hilda_weights_check, module='backbone')]
