# Demo ablation, the paper's "+ diffusion" row: the base (last level only)
# plus temporal occupancy diffusion; no global token.
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

num_levels = 1  # top-level and model copies agree (tools check)
model = dict(
    student=dict(num_levels=1), teacher=dict(num_levels=1), global_token=None)
