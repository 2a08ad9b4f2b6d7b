# HilDA as in the paper with the DINOv2 ViT-L/14 teacher (1024 channels)
# instead of ViT-B/14; everything else is the paper config.
#   bash tools/dist_train.sh \
#       configs/hilda/hilda_minkunet34-dinov2-vitl14_8xb2-amp-50e_nuscenes.py 8
_base_ = [
    './hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py',
    '../_base_/models/teachers/dinov2-vitl14.py'
]

model = dict(teacher={{_base_.dinov2_vitl14}})
