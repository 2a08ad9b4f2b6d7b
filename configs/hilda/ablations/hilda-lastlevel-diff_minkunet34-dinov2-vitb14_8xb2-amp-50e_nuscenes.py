# Ablation, the paper's "+ diffusion" row: the base (last level only, MLP
# head, cosine) plus temporal occupancy diffusion; no global token.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

num_levels = 1  # top-level and model copies agree (tools check)
model = dict(
    student=dict(num_levels=1), teacher=dict(num_levels=1), global_token=None)
