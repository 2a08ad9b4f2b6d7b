# Copyright (c) HilDA authors. All rights reserved.
"""Per-point ground truth that real data lacks, written beside the infos.

For every keyframe one ``.npz`` (``demo_gt_path`` in the sample's info,
relative to the data root) whose rows match the rows of the t0 LiDAR
``.bin`` one to one:

- ``flow`` (N, 3) float32: scene flow t0 -> t+1 in the t0 LiDAR frame,
  i.e. where the same surface point is at t+1 minus where it is at t0,
  both in the t0 LiDAR frame. Static world points have 0 (the ego's own
  motion is not included); so do spurious returns (they sit on no
  surface). At a scene's last keyframe ``flow`` is all NaN.
- ``has_next`` () bool: whether a t+1 keyframe exists.
- ``instance_ids`` (N,) int32: 0 for stuff (ground, buildings,
  vegetation, noise), else object index + 1, stable across the frames of
  a scene.
- ``cam_visible`` (N, C) bool: whether camera c really sees the point: the
  stored point lies in front of the camera and inside its image, and the
  ray from the camera centre to the point's noise-free surface position
  hits no other surface first (ray cast against the world geometry,
  ``VISIBILITY_TOLERANCE`` metres). Spurious returns are never visible:
  there is no surface for a camera to see.
- ``cam_names`` (C,) str: the column order of ``cam_visible`` (the keys of
  the info's ``images``).
"""
import io
import zipfile
from typing import Dict, List

import numpy as np

from .classes import DETECTION_LABELS
from .poses import invert_pose, transform_points
from .raycast import cast_rays
from .world import Scene

GT_DIR = 'demo_gt'
# Metres a camera ray may stop short of the point and still see it: the
# ray ends on the point's own surface up to rounding, but points on a box
# edge may be reached through the adjacent face a hair earlier.
VISIBILITY_TOLERANCE = 0.05
MIN_DEPTH = 0.1  # as the projection helpers' ``min_depth``


def rigid_flow(scene: Scene, frame: int, lidar2map: np.ndarray,
               points: np.ndarray, objects: np.ndarray) -> np.ndarray:
    """Scene flow t0 -> t+1 of LiDAR points, in the t0 LiDAR frame.

    Each point on an object moves with the object's rigid motion between
    the two keyframes (translation and turn about z); all other points
    are static.

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe t0 (``frame + 1`` must exist).
        lidar2map (np.ndarray): 4x4 LiDAR pose in the map frame at t0.
        points (np.ndarray): (N, >=3) points in the t0 LiDAR frame.
        objects (np.ndarray): (N,) object index of each point (-1: none).

    Returns:
        np.ndarray: (N, 3) float32 flow.
    """
    flow = np.zeros((len(points), 3))
    xy0, yaw0 = scene.object_xy(frame), scene.object_yaw(frame)
    xy1, yaw1 = scene.object_xy(frame + 1), scene.object_yaw(frame + 1)
    # Only objects that moved: still ones keep exactly 0, not rounding.
    moved = np.any(xy1 != xy0, axis=1) | (yaw1 != yaw0)
    sel = np.nonzero((objects >= 0) & moved[np.maximum(objects, 0)])[0]
    if len(sel):
        obj = objects[sel]
        pts_map = transform_points(lidar2map, points[sel, :3].astype(float))
        rel = pts_map[:, :2] - xy0[obj]
        turn = yaw1[obj] - yaw0[obj]
        c, s = np.cos(turn), np.sin(turn)
        moved = xy1[obj] + np.stack(
            [c * rel[:, 0] - s * rel[:, 1], s * rel[:, 0] + c * rel[:, 1]], 1)
        flow_map = np.zeros((len(sel), 3))
        flow_map[:, :2] = moved - pts_map[:, :2]
        # A displacement rotates from map to LiDAR axes by R^T.
        flow[sel] = flow_map @ lidar2map[:3, :3]
    return flow.astype(np.float32)


def instance_ids(scene: Scene, objects: np.ndarray) -> np.ndarray:
    """(N,) int32 instance id per point: 0 for stuff, else object + 1."""
    thing = np.isin(scene.obj_label, list(DETECTION_LABELS))
    safe = np.maximum(objects, 0)
    return np.where((objects >= 0) & thing[safe], objects + 1,
                    0).astype(np.int32)


def camera_visibility(scene: Scene, frame: int, lidar2map: np.ndarray,
                      points: np.ndarray, surface_map: np.ndarray,
                      on_surface: np.ndarray, rig: List[Dict],
                      ego2map: np.ndarray) -> np.ndarray:
    """Whether each camera really sees each point, by ray casting.

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe index.
        lidar2map (np.ndarray): 4x4 LiDAR pose in the map frame.
        points (np.ndarray): (N, >=3) stored points, LiDAR frame; they
            decide "in front of the camera and inside its image", as for
            any projection of the files.
        surface_map (np.ndarray): (N, 3) noise-free surface positions of
            the points, map frame; the rays go there.
        on_surface (np.ndarray): (N,) bool, False for spurious returns.
        rig (list[dict]): Output of :func:`cameras.camera_rig`.
        ego2map (np.ndarray): 4x4 ego pose in the map frame.

    Returns:
        np.ndarray: (N, C) bool, columns in ``rig`` order.
    """
    centres, halves, yaws = scene.part_boxes(frame)
    pts_map = transform_points(lidar2map, points[:, :3].astype(float))
    visible = np.zeros((len(points), len(rig)), dtype=bool)
    for col, cam in enumerate(rig):
        cam2map = ego2map @ cam['cam2ego']
        pc = transform_points(invert_pose(cam2map), pts_map)
        depth = pc[:, 2]
        safe = np.where(depth > MIN_DEPTH, depth, 1.0)
        uv = pc @ np.asarray(cam['cam2img']).T
        u, v = uv[:, 0] / safe, uv[:, 1] / safe
        height, width = cam['img_shape']
        inside = (
            on_surface & (depth > MIN_DEPTH) & (u >= 0) & (u < width)
            & (v >= 0) & (v < height))
        idx = np.nonzero(inside)[0]
        if not len(idx):
            continue
        # Neighbouring pixels in one batch keep the ray caster's culling
        # effective.
        idx = idx[np.lexsort((u[idx], np.floor(v[idx])))]
        origin = cam2map[:3, 3]
        ray = surface_map[idx] - origin
        dist = np.linalg.norm(ray, axis=1)
        hits = cast_rays(origin, ray / dist[:, None], centres, halves, yaws,
                         float(dist.max()) + 1.0)
        visible[idx, col] = hits['dist'] >= dist - VISIBILITY_TOLERANCE
    return visible


def frame_ground_truth(scene: Scene, frame: int, lidar2map: np.ndarray,
                       sweep: Dict[str, np.ndarray], rig: List[Dict],
                       ego2map: np.ndarray) -> Dict[str, np.ndarray]:
    """All ground-truth arrays of one keyframe (see the module docstring).

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe index.
        lidar2map (np.ndarray): 4x4 LiDAR pose in the map frame.
        sweep (dict): Output of :func:`lidar.scan`.
        rig (list[dict]): Output of :func:`cameras.camera_rig`.
        ego2map (np.ndarray): 4x4 ego pose in the map frame.

    Returns:
        dict[str, np.ndarray]: ``flow``, ``has_next``, ``instance_ids``,
        ``cam_visible``, ``cam_names``.
    """
    points, objects = sweep['points'], sweep['object_ids']
    has_next = frame + 1 < scene.num_frames
    if has_next:
        flow = rigid_flow(scene, frame, lidar2map, points, objects)
    else:
        flow = np.full((len(points), 3), np.nan, dtype=np.float32)
    return dict(
        flow=flow,
        has_next=np.array(has_next),
        instance_ids=instance_ids(scene, objects),
        cam_visible=camera_visibility(scene, frame, lidar2map, points,
                                      sweep['surface'], ~sweep['spurious'],
                                      rig, ego2map),
        cam_names=np.array([cam['name'] for cam in rig]))


def write_npz(path: str, arrays: Dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with fixed zip timestamps.

    numpy stamps each member with the current time, so two runs with the
    same seed would differ in bytes; a fixed date keeps files identical.
    """
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(
                buf, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(
                f'{name}.npy', date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())
