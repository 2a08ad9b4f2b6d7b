# Copyright (c) HilDA authors. All rights reserved.
"""JPEGs decoded reduced to the teacher's size, with cam2img to match."""
import glob
import os.path as osp

import numpy as np

from projects.HilDA.hilda.datasets.transforms.loading import jpeg_size
from tests.conftest import REAL_FRAME_INFO
from tests.helpers.synthetic_nuscenes import hilda_dataset

LOAD_T0 = dict(
    type='LoadCheckedPointsFromFile',
    coord_type='LIDAR',
    load_dim=5,
    use_dim=4)


def real_sample(root, decode_min_size):
    pipeline = [
        LOAD_T0,
        dict(
            type='LoadCheckedMultiViewImages',
            num_views=6,
            decode_min_size=decode_min_size),
        dict(type='ProjectPointsToImages', occlusion=None),
    ]
    return hilda_dataset(root, REAL_FRAME_INFO, pipeline, temporal=False)[0]


def test_jpeg_header_gives_the_image_size(real_frame_root):
    path = sorted(glob.glob(osp.join(real_frame_root, '*.jpg')))[0]
    with open(path, 'rb') as f:
        assert jpeg_size(f.read()) == (900, 1600)
    assert jpeg_size(b'\x89PNG\r\n') is None


def test_reduced_decoding_keeps_every_pair_on_its_pixel(real_frame_root):
    full = real_sample(real_frame_root, None)
    half = real_sample(real_frame_root, (224, 448))
    assert full['img'][0].shape == (900, 1600, 3)
    assert half['img'][0].shape == (450, 800, 3)  # 4x would be too small
    np.testing.assert_allclose(half['cam2img'][:, :2],
                               full['cam2img'][:, :2] / 2)
    # The same pairs, each at half its full-size pixel, on the same colour.
    np.testing.assert_array_equal(half['pair_point_idx'],
                                  full['pair_point_idx'])
    np.testing.assert_allclose(
        half['pair_uv'], full['pair_uv'] / 2, rtol=1e-5, atol=1e-3)
    cam, uv = half['pair_cam_idx'], half['pair_uv'].astype(int)
    small = np.stack([half['img'][c][v, u] for c, (u, v) in zip(cam, uv)])
    big = np.stack([
        full['img'][c][2 * v:2 * v + 2, 2 * u:2 * u + 2].mean((0, 1))
        for c, (u, v) in zip(cam, uv)
    ])
    assert np.abs(small.astype(float) - big).mean() < 6
