# Semantic segmentation on the HilDA demo world
# (tools/create_demo_data.py --out-dir data/hilda_demo): its lidarseg labels
# are raw nuScenes ids, read by NuScenesLidarSegDataset with the standard
# map; only the 14 benchmark classes the world contains are trained and
# evaluated (construction_vehicle and trailer are absent; other ids are
# ignored). Val = the held-out demo scenes.
_base_ = ['./nuscenes_lidarseg.py']

data_root = 'data/hilda_demo/'
class_names = [
    'barrier', 'bicycle', 'bus', 'car', 'motorcycle', 'pedestrian',
    'traffic_cone', 'truck', 'driveable_surface', 'other_flat', 'sidewalk',
    'terrain', 'manmade', 'vegetation'
]
metainfo = dict(classes=class_names)
ignore_index = len(class_names)
data_prefix = dict(
    pts='samples/LIDAR_TOP', pts_semantic_mask='lidarseg/v1.0-demo')

# Everything in the main process: the set is small and CI has two cores.
dataloader_common = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    **dataloader_common,
    dataset=dict(
        data_root=data_root,
        data_prefix=data_prefix,
        metainfo=metainfo,
        ignore_index=ignore_index))
# The same overrides, merged into the base's test loader.
test_dataloader = train_dataloader
val_dataloader = test_dataloader
