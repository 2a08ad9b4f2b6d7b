# Copyright (c) HilDA authors. All rights reserved.
"""The six-camera rig of nuScenes and per-pixel ray-cast rendering.

Intrinsics are those of the nuScenes cameras (1600x900) scaled to the
reduced image size, as resizing a real image would; CAM_BACK has the
shorter focal length (wider view) as in nuScenes. Extrinsics (``cam2ego``)
follow nuScenes' mounting positions and headings, with small fixed tilts;
camera axes are OpenCV's (x right, y down, z forward).
"""
from typing import Dict, List, Sequence

import numpy as np

from .appearance import surface_colours
from .poses import invert_pose, make_pose, rotation_zyx
from .raycast import cast_rays
from .world import Scene

NUSCENES_IMG_SIZE = (1600, 900)
CAMERA_FAR = 250.0  # beyond this the view fades into the sky
# name: heading (deg), pitch and roll tilts (deg), position in the ego
# frame (m), focal length and principal point at 1600x900 (px).
CAMERA_RIG = {
    'CAM_FRONT': (0.0, 0.3, -0.3, (1.70, 0.02, 1.51), 1266.4, (816.3, 491.5)),
    'CAM_FRONT_RIGHT':
    (-55.0, 0.5, 0.2, (1.55, -0.49, 1.50), 1260.8, (808.0, 495.3)),
    'CAM_FRONT_LEFT':
    (55.0, -0.2, 0.4, (1.52, 0.49, 1.51), 1272.6, (826.6, 479.8)),
    'CAM_BACK': (180.0, 0.9, 0.1, (0.03, 0.0, 1.58), 809.2, (829.2, 481.8)),
    'CAM_BACK_LEFT':
    (110.0, 0.5, -0.3, (1.04, 0.48, 1.59), 1256.7, (792.1, 492.8)),
    'CAM_BACK_RIGHT':
    (-110.0, 0.6, 0.2, (1.01, -0.48, 1.56), 1259.5, (807.3, 501.2)),
}
CAMERA_NAMES = tuple(CAMERA_RIG)
# OpenCV camera axes (x right, y down, z forward) in a forward-looking
# vehicle frame (x forward, y left, z up).
_CV_TO_VEHICLE = np.array([[0., 0., 1.], [-1., 0., 0.], [0., -1., 0.]])


def camera_rig(img_size: Sequence[int] = (400, 224)) -> List[Dict]:
    """Calibration of the six cameras for images of ``img_size``.

    Args:
        img_size (tuple[int, int]): Image width and height.

    Returns:
        list[dict]: per camera ``name``, ``cam2ego`` (4, 4), ``cam2img``
        (3, 3) and ``img_shape`` (H, W).
    """
    width, height = img_size
    sx, sy = width / NUSCENES_IMG_SIZE[0], height / NUSCENES_IMG_SIZE[1]
    rig = []
    for name, (yaw, pitch, roll, xyz, focal, centre) in CAMERA_RIG.items():
        rotation = rotation_zyx(*np.deg2rad([yaw, pitch, roll]))
        rig.append(
            dict(
                name=name,
                cam2ego=make_pose(rotation @ _CV_TO_VEHICLE, xyz),
                cam2img=np.array([[focal * sx, 0, centre[0] * sx],
                                  [0, focal * sy, centre[1] * sy], [0, 0, 1]]),
                img_shape=(height, width)))
    return rig


def pixel_rays(cam2img: np.ndarray, img_shape: Sequence[int]) -> np.ndarray:
    """Unit rays (H * W, 3) through pixel centres, camera frame, row-major.

    Pixel (u, v) covers [u, u + 1) x [v, v + 1), so its centre is at
    (u + 0.5, v + 0.5), the convention of the projection helpers.
    """
    height, width = img_shape
    v, u = np.mgrid[0:height, 0:width] + 0.5
    pix = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], 1)
    rays = pix @ np.linalg.inv(cam2img).T
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def render(scene: Scene, frame: int, cam2ego: np.ndarray, cam2img: np.ndarray,
           img_shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Render one camera image by casting a ray through every pixel.

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe index.
        cam2ego (np.ndarray): 4x4 camera pose in the ego frame.
        cam2img (np.ndarray): 3x3 intrinsics.
        img_shape (tuple[int, int]): (H, W).
        rng (np.random.Generator): Sensor noise generator.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    cam2map = scene.ego2map(frame) @ cam2ego
    origin = cam2map[:3, 3]
    dirs = pixel_rays(cam2img, img_shape) @ cam2map[:3, :3].T
    centres, halves, yaws = scene.part_boxes(frame)
    hits = cast_rays(origin, dirs, centres, halves, yaws, CAMERA_FAR)
    colour = surface_colours(scene, frame, origin, dirs, hits)
    colour += rng.normal(0, 2.0, colour.shape)  # sensor noise
    image = np.clip(np.round(colour), 0, 255).astype(np.uint8)
    return image.reshape(*img_shape, 3)


def lidar2cam(cam2ego: np.ndarray, lidar2ego: np.ndarray) -> np.ndarray:
    """4x4 LiDAR-to-camera transform of a synchronous rig."""
    return invert_pose(cam2ego) @ lidar2ego
