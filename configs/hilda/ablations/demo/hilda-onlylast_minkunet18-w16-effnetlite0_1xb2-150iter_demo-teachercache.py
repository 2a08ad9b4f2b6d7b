# Demo ablation, the level question, "last only": full HilDA but L_distill
# on one level, the teacher's deepest (stride 32) into the last (finest)
# decoder stage. Global token and diffusion stay.
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

num_levels = 1  # top-level and model copies agree (tools check)
model = dict(student=dict(num_levels=1), teacher=dict(num_levels=1))
