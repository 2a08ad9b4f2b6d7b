# Demo fine-tuning from HilDA weights: the scratch baseline
# (minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py) with the
# backbone initialised from the exported demo student and the load checked.
#   python tools/model_converters/hilda_to_mmdet3d.py \
#       work_dirs/demo/iter_150.pth \
#       work_dirs/demo/hilda_minkunet18-w16_demo.pth --target minkunet
#   python tools/train.py configs/finetune/THIS_FILE.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=OTHER.pth
_base_ = [
    './minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py',
    '../_base_/finetune/hilda_weights.py'
]

pretrained = 'work_dirs/demo/hilda_minkunet18-w16_demo.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(_base_.hilda_backbone_init, checkpoint=pretrained)))

# Fails before the first iteration unless every backbone tensor equals the
# checkpoint's (checkpoint and prefix are read from the init_cfg above).
custom_hooks = [dict(_base_.hilda_weights_check, module='backbone')]
