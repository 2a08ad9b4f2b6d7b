# Copyright (c) HilDA authors. All rights reserved.
"""Rigid transforms (4x4 homogeneous matrices) used by the demo world."""
import numpy as np


def rotation_zyx(yaw: float, pitch: float = 0.0, roll: float = 0.0):
    """3x3 rotation ``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (radians)."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    return rz @ ry @ rx


def make_pose(rotation, translation) -> np.ndarray:
    """4x4 pose from a 3x3 rotation and a 3-vector translation."""
    pose = np.eye(4)
    pose[:3, :3] = rotation
    pose[:3, 3] = translation
    return pose


def invert_pose(pose: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 pose (transpose rotation, no matrix solve)."""
    rot = pose[:3, :3]
    return make_pose(rot.T, -rot.T @ pose[:3, 3])


def transform_points(pose: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 pose to (N, 3) points."""
    return points @ pose[:3, :3].T + pose[:3, 3]


def yaw_of(pose: np.ndarray) -> float:
    """Heading (radians) of a pose's x axis in its parent's xy plane."""
    return float(np.arctan2(pose[1, 0], pose[0, 0]))


def wrap_angle(angle):
    """Wrap angles to [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi
