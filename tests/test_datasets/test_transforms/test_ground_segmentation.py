# Copyright (c) HilDA authors. All rights reserved.
import pickle
import sys

import numpy as np
import pytest
from mmdet3d.registry import TASK_UTILS, TRANSFORMS
from mmdet3d.structures import LiDARPoints

from projects.HilDA.demo_world.lidar import beam_directions
from projects.HilDA.demo_world.raycast import cast_rays
from projects.HilDA.hilda.datasets.transforms import (
    PatchworkPPGroundSegmenter, PlaneFitGroundSegmenter, bev_occupancy,
    ground_mask, ground_segmentation)

SENSOR_HEIGHT = 1.84


def scan_with_wall(seed=0):
    """A 32-beam scan (the demo world's LiDAR) of flat ground 1.84 m below
    the sensor, a building front and a parked car.

    Returns:
        tuple: (N, 4) points in the sensor frame, (N,) bool true ground.
    """
    rng = np.random.default_rng(seed)
    dirs, _ = beam_directions(1084)
    origin = np.array([0.0, 0.0, SENSOR_HEIGHT])
    hits = cast_rays(origin, dirs, np.array([[12.0, 0, 3], [6.0, -4, 0.75]]),
                     np.array([[0.5, 15, 3], [2.2, 0.9, 0.75]]), np.zeros(2),
                     70.0)
    keep = np.isfinite(hits['dist'])
    xyz = dirs[keep] * (
        hits['dist'][keep, None] + rng.normal(0, 0.02, (keep.sum(), 1)))
    points = np.c_[xyz, rng.uniform(0, 255, len(xyz))].astype(np.float32)
    return points, hits['ground'][keep]


@pytest.mark.parametrize(
    'segmenter',
    [PatchworkPPGroundSegmenter(fallback=None),
     PlaneFitGroundSegmenter()])
def test_segmenter_finds_the_ground_and_not_the_wall(segmenter):
    points, truth = scan_with_wall()
    ground = segmenter(points)
    # Patchwork++ and the plane leave a ring of radius min_range alone.
    far = np.linalg.norm(points[:, :2], axis=1) > 3.0
    assert ground[truth & far].mean() > 0.9
    assert ground[~truth].mean() < 0.1


def test_patchworkpp_runs_the_library_not_the_fallback():
    assert PatchworkPPGroundSegmenter(fallback=None).backend == 'patchworkpp'


def test_patchworkpp_falls_back_with_a_warning_when_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pypatchworkpp', None)  # import fails
    messages = []
    monkeypatch.setattr(ground_segmentation, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    segmenter = PatchworkPPGroundSegmenter()
    assert segmenter.backend == 'PlaneFitGroundSegmenter'
    assert any('falls back' in m for m in messages)
    points, truth = scan_with_wall()
    assert segmenter(points)[~truth].mean() < 0.1
    with pytest.raises(ImportError, match='pypatchworkpp'):
        PatchworkPPGroundSegmenter(fallback=None)(points)


def test_unknown_patchworkpp_parameter_is_named():
    segmenter = TASK_UTILS.build(
        dict(
            type='PatchworkPPGroundSegmenter',
            extra_params=dict(not_a_param=1),
            fallback=None))
    with pytest.raises(ValueError, match='not_a_param'):
        segmenter(scan_with_wall()[0])


def lstsq_plane_fit(points,
                    sensor_height=SENSOR_HEIGHT,
                    max_height=0.25,
                    seed_height=0.5,
                    num_iter=3,
                    min_range=2.7,
                    max_range=80.0):
    """The plane fit solved on the (N, 3) design matrix (the reference)."""
    xyz = np.asarray(points, dtype=np.float64)[:, :3]
    rng = np.linalg.norm(xyz[:, :2], axis=1)
    in_range = (rng >= min_range) & (rng <= max_range)
    inliers = in_range & (xyz[:, 2] < -sensor_height + seed_height)
    coeffs = np.array([0.0, 0.0, -sensor_height])
    design = np.concatenate([xyz[:, :2], np.ones((len(xyz), 1))], 1)
    for _ in range(num_iter):
        coeffs = np.linalg.lstsq(
            design[inliers], xyz[inliers, 2], rcond=None)[0]
        inliers = in_range & (np.abs(xyz[:, 2] - design @ coeffs) < max_height)
    return in_range & (xyz[:, 2] - design @ coeffs < max_height)


def test_plane_fit_equals_the_least_squares_reference_on_a_slope():
    """The ground tilted by 2 % along x and 1 % along y: the normal
    equations give the masks of a solver on the design matrix."""
    points, truth = scan_with_wall()
    points[:, 2] += 0.02 * points[:, 0] - 0.01 * points[:, 1]
    ground = PlaneFitGroundSegmenter()(points)
    np.testing.assert_array_equal(ground, lstsq_plane_fit(points))
    far = np.linalg.norm(points[:, :2], axis=1) > 3.0
    assert ground[truth & far].mean() > 0.95 and ground[~truth].mean() < 0.1


def test_ground_mask_undoes_the_frame_change():
    """A scan moved 3 m up: the plane seeds are only found after the move
    is undone."""
    points, truth = scan_with_wall()
    sensor2frame = np.eye(4)
    sensor2frame[:3, 3] = (5.0, -2.0, 3.0)
    moved = points.copy()
    moved[:, :3] += sensor2frame[:3, 3]
    segmenter = PlaneFitGroundSegmenter()
    assert not ground_mask(segmenter, moved).any()
    ground = ground_mask(segmenter, moved, sensor2frame)
    far = np.linalg.norm(points[:, :2], axis=1) > 3.0
    assert ground[truth & far].mean() > 0.95 and ground[~truth].mean() < 0.1


OCC = dict(point_cloud_range=(-20, -20, -6, 20, 20, 6), cell_size=1.0)


def occupancy_target(remove_ground, aug_z=0.0, lidar2t0_z=0.0):
    """The target of a t+1 scan lifted by lidar2t0 and the augmentation."""
    points, truth = scan_with_wall()
    lidar2t0 = np.eye(4)
    lidar2t0[2, 3] = lidar2t0_z
    aug = np.eye(4)
    aug[2, 3] = aug_z
    xyz = points[:, :3] + [0.0, 0.0, lidar2t0_z + aug_z]
    results = dict(
        points_next=LiDARPoints(np.c_[xyz, points[:, 3:]], points_dim=4),
        lidar_aug_matrix=aug,
        temporal=dict(next=dict(lidar2t0=lidar2t0)))
    transform = TRANSFORMS.build(
        dict(
            type='BEVOccupancyTarget',
            num_height_bins=1,
            remove_ground=remove_ground,
            ground_segmenter=dict(
                type='PlaneFitGroundSegmenter', sensor_height=SENSOR_HEIGHT),
            **OCC))
    expected = bev_occupancy(xyz[~truth], num_height_bins=1, **OCC)[0] == 1
    return transform(results), truth, expected


def test_occupancy_target_removes_the_ground_by_default():
    # The scan sits 3 m higher than in its sensor frame: the ground
    # is only found once the transform undoes both moves.
    results, truth, expected = occupancy_target(
        True, aug_z=1.0, lidar2t0_z=2.0)
    occ = results['occ_target'][0] == 1
    assert (occ & expected).sum() / (occ | expected).sum() > 0.95
    assert results['occ_ground_fraction'] == pytest.approx(
        truth.mean(), abs=0.03)


def test_occupancy_target_keeps_the_ground_when_asked():
    results, _, expected = occupancy_target(False)
    occ = results['occ_target'][0] == 1
    assert occ.sum() > 3 * expected.sum()
    assert results['occ_ground_fraction'] == 0.0


def test_patchworkpp_labels_a_scan_the_same_whatever_came_before(capfd):
    points, _ = scan_with_wall(0)
    segmenter = PatchworkPPGroundSegmenter(fallback=None)
    first = segmenter(points)
    segmenter(scan_with_wall(1)[0][::3])  # another scan in between
    np.testing.assert_array_equal(segmenter(points), first)
    assert 'INITIALIZATION' not in capfd.readouterr().out


def test_used_segmenter_pickles_into_workers():
    points, _ = scan_with_wall()
    segmenter = PatchworkPPGroundSegmenter(fallback=None)
    first = segmenter(points)  # builds the pybind11 parameters
    clone = pickle.loads(pickle.dumps(segmenter))
    np.testing.assert_array_equal(clone(points), first)
