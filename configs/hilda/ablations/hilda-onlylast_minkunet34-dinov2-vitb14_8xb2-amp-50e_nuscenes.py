# Ablation (paper's layer study, "last only"): full HilDA but L_distill on
# the last level only (last ViT block -> last decoder stage, K = 0). For
# MinkUNet the last decoder stage is also the finest (stride 1), so this is
# the "finest level only" setting as well.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

num_levels = 1  # top-level and model copies agree (tools check)
model = dict(student=dict(num_levels=1), teacher=dict(num_levels=1))
