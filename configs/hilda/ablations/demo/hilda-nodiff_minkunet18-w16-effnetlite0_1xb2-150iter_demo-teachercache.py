# Demo ablation, the paper's "+ multi-layer + CLS" row, and "none" in the
# diffusion question: HilDA without L_diffusion.
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(diffusion_head=None)
