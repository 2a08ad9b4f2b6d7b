# Ablation, ScaLR-style baseline: distil only the last level (last ViT
# block -> last decoder stage, cosine), no global token, no diffusion.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(
    student=dict(num_levels=1),
    teacher=dict(num_levels=1),
    distill_neck=dict(level_weights=[1.0]),
    global_token=None,
    diffusion_head=None)
