# Ablation, the paper's "base" row (ScaLR-style + MLP head): distil only the
# last level (last ViT block -> last decoder stage, MLP head, cosine), no
# global token, no diffusion.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

num_levels = 1  # top-level and model copies agree (tools check)
model = dict(
    student=dict(num_levels=1),
    teacher=dict(num_levels=1),
    global_token=None,
    diffusion_head=None)
