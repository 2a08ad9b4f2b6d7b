# Ablation (project option, the earlier default): distil the last four
# teacher blocks into the last four decoder stages (K = 3), equal level
# weights (normalised, so loss_weight means the same as with two levels).
# The paper found extending beyond the last two layers worse.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

num_levels = 4  # top-level and model copies agree (tools check)
model = dict(student=dict(num_levels=4), teacher=dict(num_levels=4))
