# Demo weight study (docs/objectives.md): hilda-nodiff-cls05 (w_cls = 0.5)
# on the per-channel standardised teacher CLS (GlobalTokenHead
# standardize_target).
_base_ = [
    './hilda-nodiff-cls05_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(global_token=dict(standardize_target=True))
