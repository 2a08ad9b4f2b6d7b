# Ablation (project options, the earlier global token): a learnable query
# attention-pools the student's bottleneck voxels, then H_CLS; the teacher
# CLS tokens are averaged over the cameras; cosine distance instead of MSE.
_base_ = ['../hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

model = dict(
    global_token=dict(
        pooling='attention',
        num_heads=4,
        camera_pooling='mean',
        feature_level='bottleneck',
        loss=dict(type='CosineDistanceLoss')))
