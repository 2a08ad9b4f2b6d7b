# Ablation: the diffusion target keeps the ground (BEVOccupancyTarget with
# remove_ground=False); the paper removes it.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

pretrain_pipeline = [
    dict(step, remove_ground=False)
    if step['type'] == 'BEVOccupancyTarget' else step
    for step in _base_.pretrain_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=pretrain_pipeline))
