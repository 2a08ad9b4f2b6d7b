# Demo ablation, the level question: distil the teacher's last four stages
# (strides 4/8/16/32) into the last four decoder stages (K = 3); needs a
# teacher cache with four levels (probe_table.py writes one).
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

num_levels = 4  # top-level and model copies agree (tools check)
model = dict(student=dict(num_levels=4), teacher=dict(num_levels=4))
