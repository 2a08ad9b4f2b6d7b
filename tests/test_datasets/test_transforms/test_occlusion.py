# Copyright (c) HilDA authors. All rights reserved.
"""The occlusion tests against ray-cast visibility in a small street.

The street is built from the demo world's own ray caster: a LiDAR 1.84 m
up scans the ground, a building front, a parked car and a pole; a camera
0.8 m ahead of it and 0.34 m lower looks down the street. A point is
visible to the camera when the ray from the camera centre to it hits
nothing else first, as the demo world's ``cam_visible`` is defined.
"""
import numpy as np
import pytest
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import LiDARPoints

from projects.HilDA.demo_world.lidar import beam_directions
from projects.HilDA.demo_world.raycast import cast_rays
from projects.HilDA.hilda.datasets.transforms.projection import (
    LidarRangeImage, camera_centres, camera_visibility)

LIDAR_HEIGHT = 1.84
IMG_SHAPE = (224, 400)
# name: box centre (x, y, z), half extents, yaw.
BOXES = {
    'building': ((30.0, 0.0, 4.0), (1.0, 20.0, 4.0), 0.0),
    'car': ((9.0, -2.5, 0.75), (2.2, 0.9, 0.75), 0.1),
    'car2': ((15.0, 4.0, 0.75), (2.2, 0.9, 0.75), -0.05),
    'car3': ((22.0, -4.5, 0.75), (2.2, 0.9, 0.75), 0.0),
    'pole': ((12.0, 1.5, 2.0), (0.12, 0.12, 2.0), 0.0),
    'pedestrian': ((6.0, 2.0, 0.9), (0.25, 0.3, 0.9), 0.0),
    'hedge': ((19.0, 8.0, 0.5), (3.0, 0.5, 0.5), 0.0),
}


def street():
    """Scan, ground mask, lidar2img (1, 4, 4) and ray-cast visibility."""
    centres, halves, yaws = (
        np.array([b[i] for b in BOXES.values()]) for i in range(3))
    origin = np.array([0.0, 0.0, LIDAR_HEIGHT])
    dirs, _ = beam_directions(1084)
    hits = cast_rays(origin, dirs, centres, halves, yaws, 70.0)
    keep = np.isfinite(hits['dist']) & (hits['dist'] > 1.0)
    points = dirs[keep] * hits['dist'][keep, None]  # LiDAR frame
    ground = hits['ground'][keep]
    # Camera (OpenCV axes) looking along +x, 0.8 m ahead, 1.5 m up.
    cam_centre = np.array([0.8, 0.0, 1.5 - LIDAR_HEIGHT])
    rot = np.array([[0., -1., 0.], [0., 0., -1.], [1., 0., 0.]])
    lidar2cam = np.eye(4)
    lidar2cam[:3, :3] = rot
    lidar2cam[:3, 3] = -rot @ cam_centre
    cam2img = np.eye(4)
    cam2img[:3, :3] = [[316.6, 0, 204.1], [0, 316.6, 122.3], [0, 0, 1]]
    lidar2img = (cam2img @ lidar2cam)[None]
    # Ground truth: the ray from the camera to the point hits it first.
    ray = points - cam_centre
    dist = np.linalg.norm(ray, axis=1)
    first = cast_rays(cam_centre + origin, ray / dist[:, None], centres,
                      halves, yaws, 80.0)['dist']
    visible = first >= dist - 0.05
    return points, ground, lidar2img, visible


@pytest.fixture(scope='module')
def scene():
    return street()


def recalls(scene, **kwargs):
    points, ground, lidar2img, truth = scene
    vis = camera_visibility(
        points, lidar2img, [IMG_SHAPE], ground=ground, **kwargs)
    in_image = vis['in_image'][0]
    kept = vis['visible'][0]
    visible, occluded = in_image & truth, in_image & ~truth
    assert visible.sum() > 3000 and occluded.sum() > 150
    return (kept[visible].mean(), (~kept[occluded]).mean())


def test_free_space_keeps_visible_and_drops_occluded_points(scene):
    kept_visible, dropped_occluded = recalls(scene, occlusion='free_space')
    assert kept_visible >= 0.95
    assert dropped_occluded >= 0.90


def test_depth_cells_drop_much_of_the_visible_road(scene):
    """The earlier test, kept as an option, fails the same bar."""
    kept_visible, _ = recalls(
        scene, occlusion='depth_cells', occlusion_stride=14)
    assert kept_visible < 0.9


def column(elevations_deg, ranges, ground):
    """Returns of one column (azimuth 0) and its range image."""
    el = np.deg2rad(elevations_deg)
    rng = np.asarray(ranges, float)
    xyz = np.stack([rng * np.cos(el), 0 * el, rng * np.sin(el)], 1)
    return LidarRangeImage(xyz, np.asarray(ground), azimuth_bins=1084)


def surface_at(image, elevation_deg):
    col, _, _ = image.spherical(np.array([[1.0, 0.0, 0.0]]))
    return image.column_surface(col, np.deg2rad([elevation_deg]))[0]


def test_range_image_interpolates_a_slanted_surface():
    # Two rings on flat ground 1.84 m down: 20 and 30 m away.
    el = -np.rad2deg(np.arctan2(LIDAR_HEIGHT, [20.0, 30.0]))
    image = column(el, np.hypot([20.0, 30.0], LIDAR_HEIGHT), [True, True])
    mid = -np.rad2deg(np.arctan2(LIDAR_HEIGHT, 24.0))
    assert surface_at(image, mid) == pytest.approx(
        np.hypot(24.0, LIDAR_HEIGHT), rel=1e-6)


def test_range_image_edge_reaches_part_of_the_gap():
    image = column([-2.0, -1.0], [10.0, 30.0], [False, False])
    assert surface_at(image, -1.7) == pytest.approx(10.0)  # 30 % of gap
    assert surface_at(image, -1.2) == pytest.approx(30.0)  # 80 % of gap
    assert surface_at(image, 0.5) == np.inf  # above the last return


def test_ground_return_does_not_hide_what_is_above_it():
    image = column([-6.0, -5.0], [15.0, 25.0], [True, False])
    assert surface_at(image, -5.7) == pytest.approx(25.0)
    not_ground = column([-6.0, -5.0], [15.0, 25.0], [False, False])
    assert surface_at(not_ground, -5.7) == pytest.approx(15.0)


def test_camera_centres_are_recovered_from_projections(scene):
    _, _, lidar2img, _ = scene
    np.testing.assert_allclose(
        camera_centres(lidar2img)[0], [0.8, 0.0, 1.5 - LIDAR_HEIGHT],
        atol=1e-9)


def test_transform_uses_free_space_by_default_and_names_bad_options(scene):
    points, _, lidar2img, truth = scene
    results = dict(
        points=LiDARPoints(points.astype(np.float32)),
        lidar2img=lidar2img,
        img_shapes=np.array([IMG_SHAPE]))
    default = TRANSFORMS.build(dict(type='ProjectPointsToImages'))
    assert default.occlusion == 'free_space'
    kept = default(dict(results))['pair_point_idx']
    off = TRANSFORMS.build(dict(type='ProjectPointsToImages', occlusion=None))(
        dict(results))
    # Every pair dropped by the default is one the camera does not see.
    dropped = np.setdiff1d(off['pair_point_idx'], kept)
    assert len(dropped) > 200 and (~truth[dropped]).mean() > 0.5
    with pytest.raises(ValueError, match='occlusion must be'):
        TRANSFORMS.build(dict(type='ProjectPointsToImages', occlusion='z'))


def test_stride_without_the_cell_test_is_an_error():
    with pytest.raises(ValueError, match="occlusion='free_space'"):
        TRANSFORMS.build(
            dict(type='ProjectPointsToImages', occlusion_stride=14))
