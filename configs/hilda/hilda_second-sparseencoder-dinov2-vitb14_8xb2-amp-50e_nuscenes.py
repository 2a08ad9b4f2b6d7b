# HilDA pre-training of a detection student: CenterPoint's (voxel 0.1)
# SparseEncoder from DINOv2 ViT-B/14 on nuScenes; export with
#   tools/model_converters/hilda_to_mmdet3d.py CKPT OUT --target centerpoint
# and fine-tune with load_from=OUT (SparseEncoder is not a BaseModule).
# The student sees x, y, z, intensity (4 channels); CenterPoint's configs
# add the sweep time lag as a 5th, so their conv_input is re-initialised.
_base_ = ['./hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py']

voxel_size = [0.1, 0.1, 0.2]
point_cloud_range = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
model = dict(
    data_preprocessor=dict(
        voxel_type='sparse_encoder',
        max_voxels=None,
        voxel_layer=dict(
            max_num_points=-1,
            point_cloud_range=point_cloud_range,
            voxel_size=voxel_size,
            max_voxels=(-1, -1))),
    student=dict(
        _delete_=True,
        type='PointSparseEncoder',
        in_channels=4,
        sparse_shape=[41, 1024, 1024],
        output_channels=128,
        order=('conv', 'norm', 'act'),
        encoder_channels=((16, 16, 32), (32, 32, 64), (64, 64, 128), (128,
                                                                      128)),
        encoder_paddings=((0, 0, 1), (0, 0, 1), (0, 0, [0, 1, 1]), (0, 0)),
        block_type='basicblock',
        num_levels={{_base_.num_levels}},  # the paper's K + 1 = 2
        return_bev=False))
