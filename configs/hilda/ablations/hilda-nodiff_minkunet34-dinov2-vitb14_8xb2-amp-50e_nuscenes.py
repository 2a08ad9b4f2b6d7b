# Ablation, the paper's "+ multi-layer + CLS" row: HilDA without occupancy
# diffusion (no L_diffusion); the t-1 scan is then not voxelised (the
# pre-trainer turns it off).
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(diffusion_head=None)
