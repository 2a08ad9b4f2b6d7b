# Fine-tuning from HilDA weights: the backbone's init_cfg and the hook that
# stops the run before the first iteration unless every tensor of the named
# module equals the checkpoint's (PretrainedWeightsCheckHook reads checkpoint
# and prefix from that init_cfg, or load_from where the weights come that
# way). A fine-tune config lists this file as a second base and sets
#   pretrained = 'PATH.pth'
#   model = dict(backbone=dict(init_cfg=dict(
#       _base_.hilda_backbone_init, checkpoint=pretrained)))
#   custom_hooks = [dict(_base_.hilda_weights_check, module='backbone')]
# (module='pts_middle_encoder' / 'middle_encoder' with load_from for the
# detectors' SparseEncoder).
hilda_backbone_init = dict(type='Pretrained', prefix='backbone.')
hilda_weights_check = dict(
    type='PretrainedWeightsCheckHook', min_loaded_ratio=1.0)
