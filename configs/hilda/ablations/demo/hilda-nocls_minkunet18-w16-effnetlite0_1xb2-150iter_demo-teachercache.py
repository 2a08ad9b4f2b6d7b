# Demo ablation, the paper's "+ diffusion + multi-layer" row: HilDA without
# the global token (no L_CLS).
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(global_token=None)
