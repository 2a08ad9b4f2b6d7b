# Copyright (c) HilDA authors. All rights reserved.
"""A HilDA pre-trainer small enough for unit tests on CPU, and its data.

The parts are the real ones (MultiLevelMinkUNet on spconv, a DINOv2 ViT
from mmpretrain with random weights, the neck, the global token and the
diffusers UNet); only the widths are tiny.
"""
import copy
import os.path as osp

from tests.helpers.synthetic_nuscenes import (LOAD_IMAGES, LOAD_POINTS,
                                              build_dataset)

OCC_RANGE = [-32.0, -32.0, -3.0, 32.0, 32.0, 5.0]
VOXEL_RANGE = [-100, -100, -20, 100, 100, 20]
VOXELISER = dict(
    voxel=True, voxel_type='minkunet', batch_first=True, max_voxels=None)
IMAGE_NORM = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)


def voxel_layer(voxel_size=0.5, point_cloud_range=VOXEL_RANGE):
    """mmcv ``Voxelization`` settings of the tests: cubic voxels, every
    point and every voxel kept."""
    return dict(
        max_num_points=-1,
        point_cloud_range=list(point_cloud_range),
        voxel_size=[voxel_size] * 3,
        max_voxels=(-1, -1))


def preprocessor_cfg(type='HilDADataPreprocessor', **overrides):
    """The tests' voxelising data preprocessor (MinkUNet voxels, batch
    first, :func:`voxel_layer`); ``HilDAPretrainDataPreprocessor`` also
    normalises the images."""
    cfg = dict(VOXELISER, type=type, voxel_layer=voxel_layer())
    if type == 'HilDAPretrainDataPreprocessor':
        cfg.update(IMAGE_NORM)
    cfg.update(overrides)
    return cfg


TINY_VIT = dict(
    embed_dims=48, num_layers=4, num_heads=3, feedforward_channels=96)

TINY_MODEL = dict(
    type='HilDAPretrainer',
    data_preprocessor=preprocessor_cfg('HilDAPretrainDataPreprocessor'),
    student=dict(
        type='MultiLevelMinkUNet',
        in_channels=4,
        base_channels=8,
        num_stages=4,
        encoder_channels=[8, 16, 16, 16],
        encoder_blocks=[1, 1, 1, 1],
        decoder_channels=[16, 16, 16, 16],
        decoder_blocks=[1, 1, 1, 1],
        num_levels=2,
        pad_spatial_shape=True),
    teacher=dict(
        type='DINOv2Teacher', arch=TINY_VIT, num_levels=2, img_size=56),
    distill_head=dict(type='HierarchicalDistillHead'),
    global_token=dict(type='GlobalTokenHead'),
    diffusion_head=dict(
        type='OccupancyDiffusionHead',
        point_cloud_range=OCC_RANGE,
        cell_size=4.0,
        num_height_bins=4,
        cond_channels=8,
        block_out_channels=(8, 16),
        norm_num_groups=4,
        num_train_timesteps=100))


def tiny_model_cfg(**overrides):
    """A deep copy of the tiny model config with top-level overrides."""
    cfg = copy.deepcopy(TINY_MODEL)
    cfg.update(overrides)
    return cfg


def tiny_pipeline(temporal=True):
    pipeline = [
        LOAD_POINTS,
        LOAD_IMAGES,
        dict(type='MultiViewImageAug', final_size=(42, 56), flip_ratio=0.5),
        dict(type='ProjectPointsToImages'),
        dict(type='ConsistentPointAug', translation_std=(0.2, 0.2, 0.1)),
        dict(
            type='BEVOccupancyTarget',
            point_cloud_range=OCC_RANGE,
            cell_size=4.0,
            num_height_bins=4,
            source_key='points_next' if temporal else 'points'),
        dict(type='PackHilDAInputs'),
    ]
    if temporal:
        pipeline.insert(1, dict(type='LoadTemporalPoints'))
    return pipeline


def tiny_dataset(root, temporal=True, num_frames=3):
    return build_dataset(
        root,
        tiny_pipeline(temporal),
        temporal=temporal,
        num_frames=num_frames)


def tiny_config_file(root, num_frames=3, batch_size=1):
    """The tiny pre-trainer on a synthetic sequence of ``num_frames`` under
    ``root``, as a config file for the tools; returns its path."""
    from mmengine.config import Config

    from tests.helpers.synthetic_nuscenes import write_sequence
    info, _, _ = write_sequence(str(root), num_frames=num_frames)
    cfg = Config(
        dict(
            custom_imports=dict(
                imports=['projects.HilDA.hilda'], allow_failed_imports=False),
            default_scope='mmdet3d',
            model=tiny_model_cfg(),
            train_dataloader=dict(
                batch_size=batch_size,
                dataset=dict(
                    type='HilDANuScenesDataset',
                    data_root=str(root),
                    ann_file=info,
                    data_prefix=dict(pts='', img=''),
                    pipeline=tiny_pipeline(True),
                    temporal=True))))
    path = osp.join(str(root), 'tiny_hilda_cfg.py')
    cfg.dump(path)
    return path
