# Demo weight study (docs/objectives.md), CLS sweep with diffusion off:
# multi-level distillation + L_CLS at w_cls = 0.03 on the per-channel
# standardised teacher CLS (GlobalTokenHead standardize_target).
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(
    diffusion_head=None,
    global_token=dict(standardize_target=True, loss=dict(loss_weight=0.03)))
