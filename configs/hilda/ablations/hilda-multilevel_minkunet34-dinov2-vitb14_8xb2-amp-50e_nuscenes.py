# Ablation, the paper's "+ multi-layer" row: the paper's two-level
# distillation (K = 1), no global token, no diffusion.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(global_token=None, diffusion_head=None)
