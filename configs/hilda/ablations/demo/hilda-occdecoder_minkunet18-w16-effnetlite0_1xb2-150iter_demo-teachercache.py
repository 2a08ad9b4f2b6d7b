# Demo ablation, the diffusion question: in place of the diffusion UNet a
# plain occupancy decoder of the same capacity (the same conditioning conv
# and UNet, fed no noise) predicts the same t+1 occupancy with a BCE loss
# (OccupancyDecoderHead; the paper's "simple occupancy decoder" row).
_base_ = [
    '../../hilda_minkunet18-w16-effnetlite0_1xb2-150iter_'
    'demo-teachercache.py'
]

model = dict(diffusion_head=dict(type='OccupancyDecoderHead'))
