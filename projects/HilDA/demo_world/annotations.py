# Copyright (c) HilDA authors. All rights reserved.
"""3D box annotations in mmdet3d's nuScenes info format (v1.1).

``instances`` hold LiDAR-frame boxes ``[x, y, z_bottom, l, w, h, yaw]``
(yaw of the length axis about z), the velocity ``[vx, vy]`` in the LiDAR
frame and the number of LiDAR points on the object; ``cam_instances``
the same boxes per camera the way mmdet3d's converter writes them
(camera-frame box ``[x, y_bottom, z, l, h, w, yaw]``, 2D box, projected
bottom centre, depth, attribute).
"""
from typing import Dict, List

import numpy as np

from .classes import ATTRIBUTE_LABELS, DETECTION_LABELS
from .poses import invert_pose, transform_points, wrap_angle, yaw_of
from .world import Scene

MOVING_SPEED = 0.2  # m/s; slower objects count as parked / standing


def box_corners(bbox_3d: np.ndarray) -> np.ndarray:
    """(8, 3) corners of a LiDAR-frame box ``[x, y, z_bottom, l, w, h, yaw]``.
    """
    x, y, z, length, width, height, yaw = bbox_3d
    sx = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * length / 2
    sy = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * width / 2
    sz = np.array([0, 0, 0, 0, 1, 1, 1, 1]) * height
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack([x + c * sx - s * sy, y + s * sx + c * sy, z + sz], 1)


def lidar_instances(scene: Scene,
                    frame: int,
                    lidar2map: np.ndarray,
                    point_objects: np.ndarray,
                    max_dist: float = 70.0) -> List[Dict]:
    """Boxes of the objects with a detection class within ``max_dist``.

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe index.
        lidar2map (np.ndarray): 4x4 LiDAR pose in the map frame.
        point_objects (np.ndarray): (N,) object index of each LiDAR point
            (-1 for none), to count ``num_lidar_pts``.
        max_dist (float): Horizontal range of the annotations.

    Returns:
        list[dict]: nuScenes ``instances``; each also carries the private
        keys ``'_moving'`` and ``'_lidarseg'`` for the camera attributes
        (dropped by :func:`strip_private`).
    """
    map2lidar = invert_pose(lidar2map)
    xy = scene.object_xy(frame)
    bottoms = transform_points(map2lidar,
                               np.concatenate([xy, np.zeros((len(xy), 1))], 1))
    yaws = wrap_angle(scene.object_yaw(frame) - yaw_of(lidar2map))
    velocity_map = scene.object_velocity(frame)
    speeds = np.linalg.norm(velocity_map, axis=1)
    vel3 = np.concatenate([velocity_map, np.zeros((len(xy), 1))], 1)
    velocities = vel3 @ map2lidar[:3, :3].T
    counts = np.bincount(point_objects[point_objects >= 0], minlength=len(xy))
    instances = []
    for obj in range(len(xy)):
        label = int(scene.obj_label[obj])
        # Objects beyond the range keep their box when the LiDAR hits
        # them, so that every labelled point lies in a box.
        far = np.hypot(*bottoms[obj, :2]) > max_dist
        if label not in DETECTION_LABELS or (far and not counts[obj]):
            continue
        det_label = DETECTION_LABELS[label]
        instances.append(
            dict(
                bbox_label=det_label,
                bbox_3d=[
                    *bottoms[obj].tolist(), *scene.obj_size[obj].tolist(),
                    float(yaws[obj])
                ],
                bbox_3d_isvalid=np.bool_(counts[obj] > 0),
                bbox_label_3d=det_label,
                num_lidar_pts=np.int64(counts[obj]),
                num_radar_pts=np.int64(0),
                velocity=velocities[obj, :2].tolist(),
                _moving=bool(speeds[obj] > MOVING_SPEED),
                _lidarseg=label))
    return instances


def camera_instances(instances: List[Dict], lidar2cam: np.ndarray,
                     cam2img: np.ndarray, img_shape) -> List[Dict]:
    """The instances seen by one camera, as mmdet3d's converter lists them.

    A box is listed when its bottom centre is in front of the camera and
    the bounding rectangle of its corners in front of the camera overlaps
    the image; the 2D box is that rectangle clipped to the image.

    Args:
        instances (list[dict]): Output of :func:`lidar_instances`.
        lidar2cam (np.ndarray): 4x4 LiDAR-to-camera transform.
        cam2img (np.ndarray): 3x3 intrinsics.
        img_shape (tuple[int, int]): (H, W).
    """
    height, width = img_shape
    rot = lidar2cam[:3, :3]
    cam_instances = []
    for inst in instances:
        box = np.asarray(inst['bbox_3d'])
        corners = transform_points(lidar2cam, box_corners(box))
        bottom = transform_points(lidar2cam, box[None, :3])[0]
        front = corners[corners[:, 2] > 0.1]
        if bottom[2] <= 0 or not len(front):
            continue
        uv = front @ cam2img.T
        uv = uv[:, :2] / uv[:, 2:]
        x1, y1 = np.maximum(uv.min(0), 0)
        x2, y2 = np.minimum(uv.max(0), [width, height])
        if x1 >= x2 or y1 >= y2:
            continue
        centre = cam2img @ bottom
        # Heading (length axis) in the camera frame; mmdet3d's camera
        # boxes turn about the y (down) axis.
        c, s = np.cos(box[6]), np.sin(box[6])
        heading = rot @ np.array([c, s, 0.0])
        velocity = rot @ np.array([*inst['velocity'], 0.0])
        moving, still = ATTRIBUTE_LABELS[inst['_lidarseg']]
        cam_instances.append(
            dict(
                bbox_label=inst['bbox_label'],
                bbox_label_3d=inst['bbox_label_3d'],
                bbox=[float(x1), float(y1),
                      float(x2), float(y2)],
                bbox_3d_isvalid=bool(inst['bbox_3d_isvalid']),
                bbox_3d=[
                    *bottom.tolist(), *box[[3, 5, 4]].tolist(),
                    float(np.arctan2(-heading[2], heading[0]))
                ],
                velocity=[float(velocity[0]),
                          float(velocity[2])],
                center_2d=(centre[:2] / centre[2]).tolist(),
                depth=float(bottom[2]),
                attr_label=moving if inst['_moving'] else still))
    return cam_instances


def strip_private(instances: List[Dict]) -> List[Dict]:
    """Instances without the private keys (those starting with '_')."""
    return [{
        k: v
        for k, v in inst.items() if not k.startswith('_')
    } for inst in instances]
