# Demo weight study (docs/objectives.md), CLS sweep with diffusion off:
# multi-level distillation + L_CLS at w_cls = 0.5 (raw MSE, the paper's).
_base_ = [
    './hilda-nodiff_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(
    global_token=dict(standardize_target=False, loss=dict(loss_weight=0.5)))
