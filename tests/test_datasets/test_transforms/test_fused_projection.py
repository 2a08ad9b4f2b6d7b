# Copyright (c) HilDA authors. All rights reserved.
"""The compiled projection (pairs inside the images, the rays' set-up and
the camera choice) against numpy's projection of every point into every
camera (``tests/helpers/free_space_reference.py``)."""
import os.path as osp

import mmengine
import numpy as np

from projects.HilDA.hilda.datasets.transforms.projection import (
    camera_visibility, project_points)
from projects.HilDA.hilda.datasets.transforms.projection_kernels import (
    choose_pairs, closest_to_centre)
from tests.conftest import REAL_FRAME_INFO
from tests.helpers.free_space_reference import (reference_pairs,
                                                reference_pixels)
from tests.helpers.tiny_demo_world import TINY_DEMO
from tests.test_datasets.test_transforms.test_fast_visibility import (
    load_sample, tiny_demo_samples)
from tests.test_datasets.test_transforms.test_occlusion import (IMG_SHAPE,
                                                                street)


def assert_same_pairs(points, lidar2img, shapes, ground, **free_space):
    """project_points equals the numpy reference, with the free-space test
    and without, and with a precomputed (seen) mask."""
    fast = project_points(
        points,
        lidar2img,
        shapes,
        occlusion='free_space',
        ground=ground,
        free_space=free_space)
    ref = reference_pairs(
        points, lidar2img, shapes, free_space=free_space, ground=ground)
    plain = project_points(points, lidar2img, shapes)
    # The occlusion test drops a fair share: comparing two runs that keep
    # everything would prove little.
    assert 0.5 * len(plain['point_idx']) < len(fast['point_idx']) < len(
        plain['point_idx'])
    seen = np.random.default_rng(0).random((len(lidar2img), len(points))) < 0.7
    for got, expected in (
        (fast, ref),
        (plain, reference_pairs(points, lidar2img, shapes)),
        (project_points(points, lidar2img, shapes, seen=seen),
         reference_pairs(points, lidar2img, shapes, seen=seen)),
    ):
        for key in ('point_idx', 'cam_idx', 'uv', 'depth'):
            np.testing.assert_array_equal(got[key], expected[key])
    # Some points are seen by several cameras: the choice is exercised.
    in_image = reference_pixels(points, lidar2img, shapes)[3]
    assert (in_image.sum(0) > 1).sum() > 100


def test_compiled_pixels_equal_numpys():
    points, _, lidar2img, _ = street()
    # A second camera, turned and shifted, with points behind it too.
    other = lidar2img[0].copy()
    other[:3, 3] += [30.0, -5.0, 2.0]
    rig = np.stack([lidar2img[0], other])
    shapes = [IMG_SHAPE, (100, 150)]
    vis = camera_visibility(points, rig, shapes)
    u, v, depth, in_image = reference_pixels(points, rig, shapes)
    assert 0 < in_image.sum() < in_image.size
    np.testing.assert_array_equal(vis['in_image'], in_image)
    for got, expected in ((vis['u'], u), (vis['v'], v), (vis['depth'], depth)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_pairs_equal_the_reference_on_the_demo_world():
    for points, lidar2img, shapes in tiny_demo_samples():
        assert_same_pairs(
            points,
            lidar2img,
            shapes,
            points[:, 2] < -1.6,
            azimuth_bins=TINY_DEMO['num_azimuth'])


def test_pairs_equal_the_reference_on_the_real_keyframe(real_frame_root):
    info = mmengine.load(osp.join(real_frame_root,
                                  REAL_FRAME_INFO))['data_list'][0]
    points, lidar2img, shapes = load_sample(real_frame_root, info)
    assert_same_pairs(points, lidar2img, shapes, points[:, 2] < -1.6)


def test_choice_on_a_pair_list_is_the_dense_choice():
    rng = np.random.default_rng(4)
    h, w = np.array([100.0, 200.0, 50.0]), np.array([300.0, 100.0, 80.0])
    # Pixels on a coarse grid: many exact ties between cameras.
    u = np.round(rng.uniform(0, 1, (3, 4000)) * 4) / 4 * w[:, None]
    v = np.round(rng.uniform(0, 1, (3, 4000)) * 4) / 4 * h[:, None]
    valid = rng.random((3, 4000)) < 0.5
    keep = rng.random((3, 4000)) < 0.8
    expected = closest_to_centre(u, v, valid & keep, h, w)
    # The pair list of the valid pairs, point by point, cameras in order.
    point_idx, cam_idx = np.nonzero(valid.T)
    chosen = choose_pairs(point_idx, cam_idx, u[cam_idx, point_idx],
                          v[cam_idx, point_idx], keep[cam_idx,
                                                      point_idx], h, w)
    assert (expected[expected >= 0] > 0).any()
    np.testing.assert_array_equal(point_idx[chosen],
                                  np.nonzero(expected >= 0)[0])
    np.testing.assert_array_equal(cam_idx[chosen], expected[expected >= 0])
