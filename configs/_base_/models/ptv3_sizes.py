# Point Transformer V3 sizes, shared by the HilDA students (MultiLevelPTv3)
# and the downstream backbones (PointTransformerV3), so that pre-training and
# fine-tuning build the same architecture:
#   student=dict(type='MultiLevelPTv3', **_base_.ptv3_paper, num_levels=2)
# (ptv3_demo_student is the demo size as a HilDA student).
# ptv3_paper: PTv3's published outdoor (nuScenes) size: encoder depths
# (2, 2, 2, 6, 2), channels (32 ... 512), heads (2 ... 32); decoder depths
# (2, 2, 2, 2), channels (64, 64, 128, 256); pooling strides 2; patches of
# 1024 voxels; the z / z-trans / Hilbert / Hilbert-trans orders shuffled per
# stage; stochastic depth 0.3.
# ptv3_demo: a size that trains on 2 CPU cores: one block a stage, channels
# (16 ... 128) / (48, 48, 64), patches of 128 voxels, no stochastic depth.
ptv3_paper = dict(
    in_channels=4,
    orders=('z', 'z-trans', 'hilbert', 'hilbert-trans'),
    strides=(2, 2, 2, 2),
    enc_depths=(2, 2, 2, 6, 2),
    enc_channels=(32, 64, 128, 256, 512),
    enc_num_heads=(2, 4, 8, 16, 32),
    enc_patch_size=1024,
    dec_depths=(2, 2, 2, 2),
    dec_channels=(64, 64, 128, 256),
    dec_num_heads=(4, 4, 8, 16),
    dec_patch_size=1024,
    drop_path=0.3,
    shuffle_orders=True)
ptv3_demo = dict(
    in_channels=4,
    strides=(2, 2, 2),
    enc_depths=(1, 1, 1, 1),
    enc_channels=(16, 32, 64, 128),
    enc_num_heads=(1, 2, 4, 8),
    enc_patch_size=128,
    dec_depths=(1, 1, 1),
    dec_channels=(48, 48, 64),
    dec_num_heads=(2, 2, 4),
    dec_patch_size=128,
    drop_path=0.0)
ptv3_demo_student = dict(type='MultiLevelPTv3', **ptv3_demo)
