# Demo ablation, the paper's "+ multi-layer" row: the paper's two-level
# distillation (K = 1), no global token, no diffusion.
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(global_token=None, diffusion_head=None)
