# Demo ablation, the paper's "base" row (ScaLR-style + MLP head): distil
# only the last level (the teacher's deepest map, stride 32, into the last
# decoder stage), no global token, no diffusion. On the teacher cache,
# like every config of this folder (tools/benchmarks/probe_table.py).
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

num_levels = 1  # top-level and model copies agree (tools check)
model = dict(
    student=dict(num_levels=1),
    teacher=dict(num_levels=1),
    global_token=None,
    diffusion_head=None)
