# Ablation, the paper's "+ diffusion + multi-layer" row: HilDA without the
# global token (no L_CLS).
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(global_token=None)
