# Copyright (c) HilDA authors. All rights reserved.
"""A nuScenes-like LIDAR_TOP: 32 beams, 360 degrees, ray cast.

The geometry follows the Velodyne HDL-32E of nuScenes: 32 beams evenly
spaced from -30.67 to +10.67 degrees (ring 0 the lowest, as in nuScenes'
files), mounted 1.84 m above the ground and rotated -90 degrees about z
relative to the ego frame (the LiDAR's +y axis looks forward), see
``LIDAR2EGO``. Points come in firing order (azimuth-major, ring-minor) as
``x, y, z, intensity, ring`` in the LiDAR frame.
"""
from typing import Dict

import numpy as np

from .classes import LIDAR_INTENSITY, NOISE, lookup
from .poses import make_pose, rotation_zyx
from .raycast import cast_rays
from .world import Scene

NUM_BEAMS = 32
ELEVATION_RANGE_DEG = (-30.67, 10.67)
LIDAR_HEIGHT = 1.84
# nuScenes' LIDAR_TOP calibration, without its sub-degree tilts so that
# the ground lies exactly at z = -LIDAR_HEIGHT in the LiDAR frame.
LIDAR2EGO = make_pose(rotation_zyx(-np.pi / 2), [0.943713, 0.0, LIDAR_HEIGHT])
MARKING_INTENSITY = 60.0  # retro-reflective paint


def beam_directions(num_azimuth: int):
    """Unit ray directions in the LiDAR frame, in firing order.

    Args:
        num_azimuth (int): Azimuth steps per revolution.

    Returns:
        tuple: directions (num_azimuth * NUM_BEAMS, 3) and ring (same len,).
    """
    elevation = np.deg2rad(np.linspace(*ELEVATION_RANGE_DEG, NUM_BEAMS))
    # Clockwise from behind, like the sweep order in nuScenes' files.
    azimuth = np.pi - 2 * np.pi * np.arange(num_azimuth) / num_azimuth
    az, el = np.meshgrid(azimuth, elevation, indexing='ij')
    dirs = np.stack(
        [np.cos(el) * np.cos(az),
         np.cos(el) * np.sin(az),
         np.sin(el)], -1).reshape(-1, 3)
    ring = np.tile(np.arange(NUM_BEAMS), num_azimuth)
    return dirs, ring


def lidar2map(scene: Scene, frame: int) -> np.ndarray:
    """4x4 pose of the LiDAR in the scene's map frame."""
    return scene.ego2map(frame) @ LIDAR2EGO


def scan(scene: Scene,
         frame: int,
         rng: np.random.Generator,
         num_azimuth: int = 1084,
         max_range: float = 70.0,
         min_range: float = 1.0,
         dropout: float = 0.03,
         range_noise: float = 0.02,
         noise_fraction: float = 0.002) -> Dict[str, np.ndarray]:
    """Simulate one LiDAR sweep of a scene at a keyframe.

    Rays that hit nothing within ``max_range`` give no point. A random
    ``dropout`` fraction of returns is lost (more at grazing incidence),
    ranges get Gaussian noise, and ``noise_fraction`` of the returns are
    spurious echoes (dust, rain) at a random range before the surface,
    labelled noise (0).

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe index.
        rng (np.random.Generator): Sensor noise generator.
        num_azimuth (int): Azimuth steps (nuScenes: about 1084).
        max_range, min_range (float): Range limits, metres.
        dropout (float): Probability that a return is lost.
        range_noise (float): Range noise sigma, metres.
        noise_fraction (float): Fraction of spurious returns.

    Returns:
        dict[str, np.ndarray]: ``points`` (N, 5) float32 x, y, z,
        intensity (0-255), ring; ``labels`` (N,) uint8 lidarseg ids;
        ``object_ids`` (N,) int64 object index (-1 for ground and noise);
        ``surface`` (N, 3) the noise-free hit in the map frame and
        ``spurious`` (N,) bool, True for the spurious returns (both for
        the ground truth, not written as they are).
    """
    dirs_lidar, ring = beam_directions(num_azimuth)
    pose = lidar2map(scene, frame)
    dirs_map = dirs_lidar @ pose[:3, :3].T
    centres, halves, yaws = scene.part_boxes(frame)
    hits = cast_rays(pose[:3, 3], dirs_map, centres, halves, yaws, max_range)

    cos_inc = np.abs(np.einsum('ij,ij->i', dirs_map, hits['normal']))
    keep_prob = (1 - dropout) * np.clip(cos_inc / 0.05, 0, 1)
    keep = (
        np.isfinite(hits['dist']) & (hits['dist'] > min_range)
        & (rng.uniform(size=len(ring)) < keep_prob))
    idx = np.nonzero(keep)[0]
    dist, box, cos_inc = hits['dist'][idx], hits['box'][idx], cos_inc[idx]

    obj = np.where(box >= 0, scene.part_obj[np.maximum(box, 0)], -1)
    hit_map = pose[:3, 3] + dirs_map[idx] * dist[:, None]
    labels = np.where(obj >= 0, scene.obj_label[np.maximum(obj, 0)],
                      scene.layout.ground_labels(hit_map[:, :2]))
    reflect = lookup(LIDAR_INTENSITY, labels)
    paint = (obj < 0) & scene.layout.lane_marking(hit_map[:, :2])
    reflect = np.where(paint, MARKING_INTENSITY, reflect)

    spurious = rng.uniform(size=len(idx)) < noise_fraction
    measured = dist + rng.normal(0, range_noise, len(idx))
    measured = np.where(spurious, rng.uniform(min_range, dist), measured)
    labels = np.where(spurious, NOISE, labels)
    obj = np.where(spurious, -1, obj)
    reflect = np.where(spurious, LIDAR_INTENSITY[NOISE], reflect)

    # Intensity falls off with incidence; speckle is multiplicative.
    intensity = reflect * (0.3 + 0.7 * cos_inc) * rng.lognormal(
        0, 0.25, len(idx))
    xyz = dirs_lidar[idx] * measured[:, None]
    points = np.concatenate([
        xyz,
        np.clip(np.round(intensity), 0, 255)[:, None],
        ring[idx, None],
    ], 1).astype(np.float32)
    return dict(
        points=points,
        labels=labels.astype(np.uint8),
        object_ids=obj.astype(np.int64),
        surface=hit_map,
        spurious=spurious)
