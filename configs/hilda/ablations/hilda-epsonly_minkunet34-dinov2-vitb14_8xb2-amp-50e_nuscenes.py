# Ablation: L_diffusion without the paper's clean-occupancy term
# (lambda = x0_loss_weight = 0): the epsilon MSE alone, DDPM's objective.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(diffusion_head=dict(x0_loss_weight=0.0))
