# Demo setting (project option, not a paper row): full HilDA with the
# student run on the t-1 scan without gradients (prev_grad=False, the
# cheaper step). probe_table.py runs it on request (--variants).
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(prev_grad=False)
