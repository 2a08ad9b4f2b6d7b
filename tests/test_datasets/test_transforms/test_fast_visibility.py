# Copyright (c) HilDA authors. All rights reserved.
"""The vectorised free-space test against its first implementation, the
explicit occlusion setting and the precomputed visibility cache."""
import os.path as osp

import mmengine
import numba
import numpy as np
import pytest
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import LiDARPoints

from projects.HilDA.hilda.datasets import visibility_cache
from projects.HilDA.hilda.datasets.transforms.loading import camera_calibration
from projects.HilDA.hilda.datasets.transforms.projection import (
    LidarRangeImage, camera_centres, camera_visibility, project_points,
    transform_xyz, visible_in_free_space)
from projects.HilDA.hilda.datasets.transforms.projection_kernels import (
    TAN_PI_8, closest_to_centre, fast_atan2)
from tests.conftest import REAL_FRAME_INFO
from tests.helpers.free_space_reference import reference_free_space
from tests.helpers.tiny_demo_world import TINY_DEMO, tiny_demo_root
from tests.test_datasets.test_transforms.test_occlusion import (IMG_SHAPE,
                                                                street)


@numba.njit
def fast_atan2_array(y, x):
    return np.array([fast_atan2(y[i], x[i]) for i in range(len(y))])


def in_image(points, lidar2img, shapes):
    return camera_visibility(points, lidar2img, shapes)['in_image']


def assert_same_decisions(points, lidar2img, shapes, ground, **kwargs):
    valid = in_image(points, lidar2img, shapes)
    centres = camera_centres(lidar2img)
    fast = visible_in_free_space(points, centres, valid, ground, **kwargs)
    ref = reference_free_space(points, centres, valid, ground, **kwargs)
    # Both keep and drop a fair share: a test comparing all-True or
    # all-False masks would prove nothing.
    assert 0.5 * valid.sum() < fast.sum() < valid.sum()
    np.testing.assert_array_equal(fast, ref)


def test_fast_free_space_equals_the_reference_on_the_street():
    points, ground, lidar2img, _ = street()
    assert_same_decisions(points, lidar2img, [IMG_SHAPE], ground)


def load_sample(root, info):
    """Scan (N, 4), (C, 4, 4) lidar2img and image shapes of an info."""

    def find(path, prefix):
        for cand in (osp.join(root, prefix, path), osp.join(root, path)):
            if osp.isfile(cand):
                return cand
        raise FileNotFoundError(path)

    points = np.fromfile(
        find(info['lidar_points']['lidar_path'], 'samples/LIDAR_TOP'),
        np.float32).reshape(-1, 5)[:, :4]
    cam2img, lidar2cam = camera_calibration(info['images'])
    shapes = [(int(c.get('height', 900)), int(c.get('width', 1600)))
              for c in info['images'].values()]
    return points, cam2img @ lidar2cam, shapes


def tiny_demo_samples(num=2):
    """The first ``num`` training samples of the tiny demo world, as
    :func:`load_sample`."""
    root = tiny_demo_root()
    infos = mmengine.load(osp.join(root,
                                   'nuscenes_infos_train.pkl'))['data_list']
    return [load_sample(root, info) for info in infos[:num]]


def test_fast_free_space_equals_the_reference_on_the_demo_world():
    for points, lidar2img, shapes in tiny_demo_samples():
        # A crude ground (the demo LiDAR is 1.84 m up) exercises the
        # ground rules of the range image.
        assert_same_decisions(
            points,
            lidar2img,
            shapes,
            points[:, 2] < -1.6,
            azimuth_bins=TINY_DEMO['num_azimuth'])


def test_fast_free_space_equals_the_reference_on_the_real_keyframe(
        real_frame_root):
    info = mmengine.load(osp.join(real_frame_root,
                                  REAL_FRAME_INFO))['data_list'][0]
    points, lidar2img, shapes = load_sample(real_frame_root, info)
    assert_same_decisions(points, lidar2img, shapes, points[:, 2] < -1.6)


def test_tabulated_threshold_equals_the_range_image_lookup():
    points, ground, _, _ = street()
    image = LidarRangeImage(points, ground)
    image.hidden_threshold(0.3, 0.02)
    rng = np.random.default_rng(0)
    xyz = rng.uniform(-40, 40, (20000, 3)) * [1, 1, 0.1]
    surface, dist = image.lookup(xyz)
    expected = dist > surface + np.maximum(0.3, 0.02 * surface)
    assert 0.05 < expected.mean() < 0.95
    # Rays of one sample each, at the position itself.
    hidden = image.hidden_along_rays(xyz, np.zeros_like(xyz),
                                     np.ones(len(xyz)), np.zeros(1))
    np.testing.assert_array_equal(hidden, expected)


def test_fast_atan2_matches_numpy():
    rng = np.random.default_rng(2)
    y, x = rng.normal(size=(2, 200000)) * rng.uniform(0.01, 100, (2, 1))
    # Axes, diagonals (where the reductions switch) and zero.
    y[:4], x[:4] = [0.0, 1.0, 0.0, -1.0], [1.0, 0.0, -1.0, 0.0]
    y[4:1000] = x[4:1000] * rng.choice([-1.0, 1.0, TAN_PI_8], 996)
    np.testing.assert_allclose(
        fast_atan2_array(y, x), np.arctan2(y, x), rtol=0, atol=1e-13)


def test_camera_choice_is_the_valid_camera_nearest_the_centre():
    rng = np.random.default_rng(3)
    h, w = np.array([100.0, 200.0, 50.0]), np.array([300.0, 100.0, 80.0])
    u = rng.uniform(0, 1, (3, 5000)) * w[:, None]
    v = rng.uniform(0, 1, (3, 5000)) * h[:, None]
    valid = rng.random((3, 5000)) < 0.5
    dist = np.maximum(
        np.abs(u / w[:, None] - 0.5), np.abs(v / h[:, None] - 0.5))
    dist[~valid] = np.inf
    expected = np.where(valid.any(0), dist.argmin(0), -1)
    assert (expected == -1).any() and len(np.unique(expected)) == 4
    np.testing.assert_array_equal(
        closest_to_centre(u, v, valid, h, w), expected)


def test_stride_never_selects_the_cell_test():
    points, _, lidar2img, _ = street()
    with pytest.raises(ValueError, match="set occlusion='depth_cells'"):
        project_points(points, lidar2img, [IMG_SHAPE], occlusion_stride=8)
    with pytest.raises(ValueError, match='occlusion_stride=14 sizes'):
        TRANSFORMS.build(
            dict(type='ProjectPointsToImages', occlusion_stride=14))
    cells = project_points(
        points, lidar2img, [IMG_SHAPE], occlusion='depth_cells')
    plain = project_points(points, lidar2img, [IMG_SHAPE])
    assert len(cells['point_idx']) < len(plain['point_idx'])


def test_transform_xyz_is_the_rigid_map():
    rng = np.random.default_rng(1)
    xyz = rng.normal(size=(100, 3)).astype(np.float32)
    matrix = np.eye(4)
    matrix[:3, :3] = np.linalg.qr(rng.normal(size=(3, 3)))[0] * 1.03
    matrix[:3, 3] = [1.0, -2.0, 0.5]
    out = transform_xyz(xyz, matrix)
    assert out.dtype == np.float32
    np.testing.assert_allclose(
        out, xyz @ matrix[:3, :3].T + matrix[:3, 3], rtol=1e-6, atol=1e-6)


# --- precomputed visibility -------------------------------------------------

STREET_TOKEN = 'street'


def street_results(points, lidar2img):
    """Pipeline results of the street scene before image augmentation."""
    cam2img = np.eye(4)
    cam2img[:3, :3] = [[316.6, 0, 204.1], [0, 316.6, 122.3], [0, 0, 1]]
    lidar2cam = np.linalg.inv(cam2img) @ lidar2img[0]
    return dict(
        token=STREET_TOKEN,
        points=LiDARPoints(points.astype(np.float32)),
        lidar2img=lidar2img.copy(),
        img_shapes=np.array([IMG_SHAPE]),
        images=dict(CAM_FRONT=dict(cam2img=cam2img, lidar2cam=lidar2cam)))


def write_cache(transform, results, cache_dir):
    """What tools/cache_visibility.py writes for one sample."""
    settings = transform.occlusion_settings()
    visibility_cache.write_meta(cache_dir, settings)
    scan, calib = transform.fingerprints(results)
    return visibility_cache.write_sample(
        cache_dir, results['token'], transform.seen_by_cameras(results),
        list(results['images']), visibility_cache.settings_key(settings), scan,
        calib)


@pytest.fixture
def cached_street(tmp_path):
    points, ground, lidar2img, _ = street()
    online = TRANSFORMS.build(
        dict(type='ProjectPointsToImages', ground_segmenter=None))
    path = write_cache(online, street_results(points, lidar2img),
                       str(tmp_path))
    cached = TRANSFORMS.build(
        dict(
            type='ProjectPointsToImages',
            ground_segmenter=None,
            visibility_cache=str(tmp_path)))
    return points, lidar2img, online, cached, path


def crop_and_flip(results):
    """A resize, crop and flip of the image, folded into lidar2img."""
    pixel_map = np.array([[-1.1, 0, 380.0], [0, 1.1, -20.0], [0, 0, 1]])
    full = np.eye(4)
    full[:2, :3] = pixel_map[:2]  # acts on (u z, v z, z)
    results['lidar2img'] = full @ results['lidar2img']
    results['img_shapes'] = np.array([(200, 360)])
    return results


def test_precomputed_visibility_equals_the_online_test(cached_street):
    points, lidar2img, online, cached, _ = cached_street
    for augment in (False, True):
        results = street_results(points, lidar2img)
        if augment:
            results = crop_and_flip(results)
        a = online(dict(results))
        b = cached(dict(results))
        assert len(a['pair_point_idx']) > 1000
        for key in ('pair_point_idx', 'pair_cam_idx', 'pair_uv'):
            np.testing.assert_array_equal(a[key], b[key])
    plain = TRANSFORMS.build(
        dict(type='ProjectPointsToImages', occlusion=None))(
            street_results(points, lidar2img))
    assert len(plain['pair_point_idx']) > len(a['pair_point_idx'])


def test_stale_precomputed_visibility_is_refused(cached_street):
    points, lidar2img, _, cached, path = cached_street
    moved = points.copy()
    moved[0, 0] += 0.5
    with pytest.raises(
            visibility_cache.VisibilityCacheError,
            match=f'{path}: stale .* scan'):
        cached(street_results(moved, lidar2img))
    results = street_results(points, lidar2img)
    results['images']['CAM_FRONT']['cam2img'][0, 0] += 1.0
    with pytest.raises(
            visibility_cache.VisibilityCacheError,
            match=f'{path}: stale .* camera calibration'):
        cached(results)
    other = TRANSFORMS.build(
        dict(
            type='ProjectPointsToImages',
            ground_segmenter=None,
            free_space=dict(num_samples=8),
            visibility_cache=osp.dirname(osp.dirname(path))))
    with pytest.raises(
            visibility_cache.VisibilityCacheError, match='occlusion settings'):
        other(street_results(points, lidar2img))


def test_precomputed_visibility_skips_the_ground_segmentation(tmp_path):
    points, ground, lidar2img, _ = street()
    calls = []

    def segmenter(scan):
        calls.append(len(scan))
        return ground

    # The default ground segmenter (Patchwork++) in the settings, a
    # counting stand-in in its place.
    online = TRANSFORMS.build(dict(type='ProjectPointsToImages'))
    online.ground_segmenter = segmenter
    write_cache(online, street_results(points, lidar2img), str(tmp_path))
    assert calls == [len(points)]
    cached = TRANSFORMS.build(
        dict(type='ProjectPointsToImages', visibility_cache=str(tmp_path)))
    cached.ground_segmenter = segmenter
    b = cached(street_results(points, lidar2img))
    assert calls == [len(points)]  # the stored verdicts imply the ground
    a = online(street_results(points, lidar2img))
    assert calls == [len(points)] * 2
    for key in ('pair_point_idx', 'pair_cam_idx', 'pair_uv'):
        np.testing.assert_array_equal(a[key], b[key])
