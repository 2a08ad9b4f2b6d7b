# Demo ablation, the level question, "finest only": one level like
# "last only", but the finer map of the default pair (EfficientNet-Lite0
# stage 3, stride 16, 112 channels) in place of the deepest (stride 32).
# Set against "last two" and "last only" it separates the hierarchy from
# the teacher's resolution (a CNN's deeper levels are coarser).
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

num_levels = 1  # top-level and model copies agree (tools check)
model = dict(
    student=dict(num_levels=1), teacher=dict(num_levels=1, out_indices=[3]))
