# Ablation: 'masked' occupancy diffusion instead of 'temporal': the points
# of random BEV patches are hidden from the student and their t0 occupancy
# is denoised; no sequence is needed (no t-1 / t+1 loading).
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(
    diffusion_head=dict(mode='masked', mask_patch_size=4, mask_ratio=0.3))

# The paper's steps without the t-1/t+1 scans; the target is the t0 scan's
# own occupancy.
masked_pipeline = [
    _base_.load_points, _base_.load_images, _base_.image_aug,
    _base_.project_points, _base_.point_aug,
    dict(_base_.occupancy_target, source_key='points'), _base_.pack_inputs
]
train_dataloader = dict(
    dataset=dict(temporal=False, pipeline=masked_pipeline))
