# Ablation (paper's layer study, "penultimate only"): full HilDA but
# L_distill on the penultimate level only (block L-1 -> decoder stage L-1).
# Both levels are still computed (the global token and the diffusion head
# read the last stage); the last level's distillation weight is 0.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(distill_head=dict(level_weights=[1.0, 0.0]))
