# The PTv3 demo pre-training on cached teacher features: the MinkUNet18
# teacher-cache demo (hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-
# teachercache.py: the same data, cache, objectives and schedule) with the
# demo PTv3 student of hilda_ptv3-demo-effnetlite0_1xb2-150iter_demo.py.
# tools/benchmarks/probe_table.py --student ptv3 pre-trains this config.
_base_ = [
    './hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py',
    '../_base_/models/ptv3_sizes.py'
]

model = dict(
    student=dict(
        _delete_=True,
        **_base_.ptv3_demo_student,
        num_levels={{_base_.num_levels}}))
