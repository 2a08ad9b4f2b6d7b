# Frozen DINOv2 ViT-B/14 teacher (768 channels), one of the paper's three
# sizes. The paper distils its last two blocks (K = 1: num_levels=2) and
# reads the last block's CLS token. Official or mmpretrain-format weights
# from a local file (nothing is downloaded):
#   dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_pretrain.pth
# Used as `teacher={{_base_.dinov2_vitb14}}` in a model config.
dinov2_vitb14 = dict(
    type='DINOv2Teacher',
    arch='dinov2-b',
    num_levels=2,
    checkpoint='checkpoints/dinov2_vitb14_pretrain.pth')
