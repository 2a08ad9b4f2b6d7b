# Demo ablation: L_diffusion without the paper's clean-occupancy term
# (lambda = x0_loss_weight = 0): the epsilon MSE alone, DDPM's objective.
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(diffusion_head=dict(x0_loss_weight=0.0))
