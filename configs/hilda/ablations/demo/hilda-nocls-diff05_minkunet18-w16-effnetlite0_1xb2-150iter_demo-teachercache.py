# Demo weight study (docs/objectives.md), diffusion sweep with CLS off:
# multi-level distillation + L_diffusion at w_diff = 0.5 (the demo's x0
# term: unclipped, its lambda and timestep weighting).
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(global_token=None, diffusion_head=dict(loss_weight=0.5))
