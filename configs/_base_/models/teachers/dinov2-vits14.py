# Frozen DINOv2 ViT-S/14 teacher (384 channels), one of the paper's three
# sizes. The paper distils its last two blocks (K = 1: num_levels=2) and
# reads the last block's CLS token. Official or mmpretrain-format weights
# from a local file (nothing is downloaded):
#   dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth
# Used as `teacher={{_base_.dinov2_vits14}}` in a model config.
dinov2_vits14 = dict(
    type='DINOv2Teacher',
    arch='dinov2-s',
    num_levels=2,
    checkpoint='checkpoints/dinov2_vits14_pretrain.pth')
