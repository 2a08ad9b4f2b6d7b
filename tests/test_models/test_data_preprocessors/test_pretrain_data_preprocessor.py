# Copyright (c) HilDA authors. All rights reserved.
import torch
from mmdet3d.registry import MODELS
from mmengine.dataset import pseudo_collate

from tests.helpers.synthetic_nuscenes import (IMG_H, IMG_W, LOAD_IMAGES,
                                              LOAD_POINTS, build_dataset)
from tests.helpers.tiny_hilda import preprocessor_cfg


def preprocess_two_samples(tmp_path, temporal):
    """Samples 1 and 2 of the synthetic sequence (with their t-1 scans if
    ``temporal``) through HilDAPretrainDataPreprocessor in training mode."""
    temporal_load = [dict(type='LoadTemporalPoints')] if temporal else []
    dataset = build_dataset(tmp_path, [
        LOAD_POINTS,
        *temporal_load,
        LOAD_IMAGES,
        dict(type='ProjectPointsToImages'),
        dict(type='PackHilDAInputs'),
    ])
    batch = pseudo_collate([dataset[1], dataset[2]])
    preprocessor = MODELS.build(
        preprocessor_cfg('HilDAPretrainDataPreprocessor'))
    return preprocessor(batch, training=True)


def test_t0_and_t_minus_1_are_voxelised_as_one_batch(tmp_path):
    out = preprocess_two_samples(tmp_path, temporal=True)
    inputs, samples = out['inputs'], out['data_samples']
    assert inputs['imgs'].shape == (2, 6, 3, IMG_H, IMG_W)
    assert inputs['imgs'].dtype == torch.float32
    assert abs(inputs['imgs'].mean().item()) < 1.0  # normalised
    coors = inputs['voxels']['coors']
    assert set(coors[:, 0].tolist()) == {0, 1, 2, 3}
    assert 'points_next' not in inputs
    for b in range(2):
        # t0 points map into the voxels of sample b, t-1 into B + b.
        t0_map = samples[b].point2voxel_map
        prev_map = inputs['prev_point2voxel'][b]
        assert len(prev_map) == len(inputs['points_prev'][b])
        t0_batch = coors[coors[:, 0] == b]
        prev_batch = coors[coors[:, 0] == 2 + b]
        assert t0_map.max() < len(t0_batch)
        assert prev_map.max() < len(prev_batch)


def test_point_pixel_pairs_are_batched_in_batch_numbering(tmp_path):
    """``inputs['pairs']``: each sample's pairs, its point rows shifted by
    the t0 points of the samples before it and its images by num_cams."""
    out = preprocess_two_samples(tmp_path, temporal=False)
    pairs, samples = out['inputs']['pairs'], out['data_samples']
    first = samples[0].correspondences
    second = samples[1].correspondences
    num_first = len(out['inputs']['points'][0])
    n = len(first.point_idx)
    assert n > 0 and len(second.point_idx) > 0
    assert torch.equal(pairs['point_idx'][:n], first.point_idx.long())
    assert torch.equal(pairs['point_idx'][n:],
                       second.point_idx.long() + num_first)
    assert torch.equal(pairs['img_idx'][n:], second.cam_idx.long() + 6)
    torch.testing.assert_close(pairs['uv'][n:], second.uv.float())
    assert pairs['superpixel'] is None
