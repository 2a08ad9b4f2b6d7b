# Copyright (c) HilDA authors. All rights reserved.
import numpy as np
import pytest
from mmdet3d.registry import TRANSFORMS

from projects.HilDA.hilda.datasets.transforms import project_points
from tests.helpers.synthetic_nuscenes import LOAD_POINTS, build_dataset


def coordinate_images(results):
    """Replace each image by a map of its own pixel centres: channel 0 is
    u, channel 1 is v (float). Resizing, cropping and flipping move these
    values with the content, so sampling an augmented image at a pixel
    tells where that content was in the original image."""
    h, w = results['img'][0].shape[:2]
    v, u = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    results['img'] = [np.stack([u, v, np.zeros_like(u)], -1)] * len(
        results['img'])
    return results


@pytest.fixture
def loaded(tmp_path):
    dataset = build_dataset(tmp_path, [
        LOAD_POINTS,
        dict(type='LoadTemporalPoints'),
        dict(type='LoadCheckedMultiViewImages', to_float32=True,
             num_views=6),
    ])
    return coordinate_images(dataset[1])


@pytest.mark.parametrize('seed', range(5))
def test_random_augmentation_keeps_correspondences_on_same_content(
        loaded, seed):
    np.random.seed(seed)
    original_points = loaded['points'].tensor.numpy().copy()
    original_lidar2img = loaded['lidar2img'].copy()
    pipeline = [
        TRANSFORMS.build(t) for t in [
            dict(
                type='MultiViewImageAug',
                final_size=(40, 56),
                resize_range=(0.9, 1.4),
                flip_ratio=0.5),
            dict(type='ProjectPointsToImages'),
            dict(
                type='ConsistentPointAug',
                translation_std=(0.5, 0.5, 0.2),
                scale_ratio_range=(0.9, 1.1)),
        ]
    ]
    results = loaded
    for transform in pipeline:
        results = transform(results)
    idx, cams, uv = (results['pair_point_idx'], results['pair_cam_idx'],
                     results['pair_uv'])
    assert len(idx) > 100
    # Content under each augmented pixel = the original pixel of the point.
    imgs = np.stack(results['img'])
    cols = np.clip(uv[:, 0].astype(int), 0, 55)
    rows = np.clip(uv[:, 1].astype(int), 0, 39)
    content_uv = imgs[cams, rows, cols, :2]
    xyz1 = np.c_[original_points[idx, :3], np.ones(len(idx))]
    proj = np.einsum('nij,nj->ni', original_lidar2img[cams], xyz1)
    original_uv = proj[:, :2] / proj[:, 2:3]
    # Half an augmented pixel of sampling error, in original pixels.
    np.testing.assert_allclose(content_uv, original_uv, atol=1.0)
    # The point augmentation is undone by inv(lidar_aug_matrix).
    aug_xyz = results['points'].tensor.numpy()[idx, :3]
    undone = np.c_[aug_xyz, np.ones(len(idx))] @ np.linalg.inv(
        results['lidar_aug_matrix']).T
    reproj = np.einsum('nij,nj->ni', results['lidar2img'][cams], undone)
    np.testing.assert_allclose(
        reproj[:, :2] / reproj[:, 2:3], uv, atol=1e-3)


def test_point_augmentation_moves_all_scans_together(loaded):
    np.random.seed(0)
    before = {
        k: loaded[k].tensor.numpy().copy()
        for k in ('points', 'points_prev', 'points_next')
    }
    results = TRANSFORMS.build(
        dict(type='ConsistentPointAug', translation_std=(1, 1, 1)))(loaded)
    matrix = results['lidar_aug_matrix']
    for key, xyz in before.items():
        expected = xyz[:, :3] @ matrix[:3, :3].T + matrix[:3, 3]
        np.testing.assert_allclose(
            results[key].tensor.numpy()[:, :3], expected, atol=1e-4)
        # Non-coordinate features are untouched.
        np.testing.assert_array_equal(results[key].tensor.numpy()[:, 3:],
                                      xyz[:, 3:])


def test_projection_accepts_3x3_and_4x4_intrinsics():
    points = np.array([[0.0, 0.0, 10.0], [1.0, -1.0, 5.0]])
    k3 = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
    k4 = np.eye(4)
    k4[:3, :3] = k3
    for cam2img in (k3, k4):
        from projects.HilDA.hilda.datasets.transforms import lidar2img_matrix
        lidar2img = lidar2img_matrix(cam2img, np.eye(4))[None]
        pairs = project_points(points, lidar2img, [(80, 100)])
        np.testing.assert_allclose(pairs['uv'], [[50, 40], [70, 20]])


def wide_images(results, top=14, rows=20):
    """Keep image rows [top, top + rows) of every camera (a 64x20 view,
    wider than any crop used below) with ``cam2img`` moved to match, then
    write pixel-coordinate images."""
    results['img'] = [img[top:top + rows] for img in results['img']]
    shift = np.eye(4)
    shift[1, 2] = -top  # v' = v - top, folded into K's rows
    results['cam2img'] = shift @ results['cam2img']
    results['lidar2img'] = results['cam2img'] @ results['lidar2cam']
    results['img_shapes'] = np.tile([rows, 64], (len(results['img']), 1))
    return coordinate_images(results)


@pytest.mark.parametrize('keep_ratio', [True, False])
def test_wide_image_is_stretched_only_when_asked(loaded, keep_ratio):
    results = TRANSFORMS.build(
        dict(
            type='MultiViewImageAug',
            final_size=(40, 56),
            crop='center',
            keep_ratio=keep_ratio))(wide_images(loaded))
    matrix = results['img_aug_matrix'][0]
    sx, sy = matrix[0, 0], matrix[1, 1]
    assert results['img'][0].shape[:2] == (40, 56)
    if keep_ratio:
        # Cover: the 20 rows must reach 40, so both axes scale by 2.
        assert sx == pytest.approx(2.0) and sy == pytest.approx(2.0)
    else:
        assert sx == pytest.approx(56 / 64) and sy == pytest.approx(2.0)


@pytest.mark.parametrize('seed', range(3))
def test_wide_image_keeps_points_on_their_content(loaded, seed):
    np.random.seed(seed)
    results = wide_images(loaded)
    original_lidar2img = results['lidar2img'].copy()
    points = results['points'].tensor.numpy().copy()
    for cfg in [
            dict(
                type='MultiViewImageAug',
                final_size=(40, 56),
                resize_range=(1.0, 1.3),
                flip_ratio=0.5),
            dict(type='ProjectPointsToImages')
    ]:
        results = TRANSFORMS.build(cfg)(results)
    idx, cams, uv = (results['pair_point_idx'], results['pair_cam_idx'],
                     results['pair_uv'])
    assert len(idx) > 50
    imgs = np.stack(results['img'])
    content_uv = imgs[cams, uv[:, 1].astype(int), uv[:, 0].astype(int), :2]
    xyz1 = np.c_[points[idx, :3], np.ones(len(idx))]
    proj = np.einsum('nij,nj->ni', original_lidar2img[cams], xyz1)
    # Upscaled by >= 2: half an output pixel is < 0.25 original pixel.
    np.testing.assert_allclose(
        content_uv, proj[:, :2] / proj[:, 2:3], atol=0.5)
