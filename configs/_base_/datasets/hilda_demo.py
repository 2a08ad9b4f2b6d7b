# HilDA pre-training data on the embedded demo world
# (tools/create_demo_data.py --out-dir data/hilda_demo): same dataset class
# and pipeline as nuScenes, smaller images and a smaller BEV range.
_base_ = ['./hilda_nuscenes.py']

data_root = 'data/hilda_demo/'
# Merged into the nuScenes prefixes (LiDAR, sweeps, the six cameras): only
# the lidarseg labels lie elsewhere.
data_prefix = dict(pts_semantic_mask='lidarseg/v1.0-demo')
# Demo images are 400x224; crops of 224x392 are 16x28 ViT patches.
image_size = (224, 392)
bev_grid = dict(
    point_cloud_range=[-32.0, -32.0, -3.0, 32.0, 32.0, 5.0],
    cell_size=0.8,
    num_height_bins=1)

# The nuScenes steps with the demo's image size and grid (the demo world's
# ground lies 1.84 m below the LiDAR too).
image_aug = dict(_base_.image_aug, final_size=image_size)
occupancy_target = dict(_base_.occupancy_target, **bev_grid)
pretrain_pipeline = [
    _base_.load_points, _base_.load_temporal_points, _base_.load_images,
    image_aug, _base_.project_points, _base_.point_aug, occupancy_target,
    _base_.pack_inputs
]

train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    prefetch_factor=None,  # torch refuses it without workers
    dataset=dict(
        data_root=data_root,
        data_prefix=data_prefix,
        pipeline=pretrain_pipeline))
