# Ablation: the diffusion target keeps the ground (BEVOccupancyTarget with
# remove_ground=False); the paper removes it.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

pretrain_pipeline = [
    _base_.load_points, _base_.load_temporal_points, _base_.load_images,
    _base_.image_aug, _base_.project_points, _base_.point_aug,
    dict(_base_.occupancy_target, remove_ground=False), _base_.pack_inputs
]
train_dataloader = dict(dataset=dict(pipeline=pretrain_pipeline))
