# Copyright (c) HilDA authors. All rights reserved.
"""What surfaces look like to the cameras: colour, texture and lighting.

Colour = the part's own base colour (drawn per object, ``materials.py``)
or the scene's ground material x texture x lighting. Textures are
functions of the world position of the surface point, so they stick to
the surfaces across views and frames (asphalt grain, wear patches and
paint, paving joints, facade windows, foliage, clothing folds, tyres).
Lighting is the scene's: sky ambient plus Lambertian sun light, and the
ground lies in the cast shadows of every part (a shadow map rasterised
per keyframe from the parts projected along the sun direction).
"""
from typing import Optional

import cv2
import numpy as np

from .classes import OTHER_FLAT, ROAD, SIDEWALK, TERRAIN
from .world import (TEX_BARK, TEX_BODY, TEX_CLOTH, TEX_FACADE, TEX_FOLIAGE,
                    TEX_GLASS, TEX_SKIN, TEX_TYRE, Scene)

PAINT_COLOUR = np.array([228.0, 226.0, 214.0])
WINDOW_COLOUR = np.array([45.0, 55.0, 65.0])
SHADOW_RES = 0.15  # metres per shadow-map cell
SHADOW_EXTENT = 100.0  # the map covers +-this many metres around the ego
# Fixed wave vectors and phases of the value noise (not random, so that the
# texture of a surface is the same in every frame, scene and seed).
_WAVES = np.array([[1.31, 0.42, 0.57], [-0.73, 1.12,
                                        0.31], [0.36, -1.63, 0.92],
                   [2.07, 1.71, -1.13], [-1.52, 0.27, 1.81]])
_PHASES = np.array([0.3, 1.9, 4.1, 2.6, 5.3])


def value_noise(points: np.ndarray, scale: float) -> np.ndarray:
    """Smooth pseudo-random field in [-1, 1] at (N, 3) points.

    Args:
        points (np.ndarray): (N, 3) positions, metres.
        scale (float): Feature size, metres.
    """
    # float32: the phases stay accurate to ~1e-3 rad over a few km, at
    # half the cost.
    arg = points.astype(np.float32) @ (_WAVES.T / scale).astype(
        np.float32) + _PHASES.astype(np.float32)
    return np.sin(arg).mean(1)


def _noise_where(points: np.ndarray, mask: np.ndarray,
                 scale: float) -> np.ndarray:
    """:func:`value_noise` where ``mask`` holds, 0 elsewhere."""
    out = np.zeros(len(points), dtype=np.float32)
    out[mask] = value_noise(points[mask], scale)
    return out


def _stripes(coord: np.ndarray, period: float, duty: float) -> np.ndarray:
    """Boolean stripes: True over ``duty`` of each ``period``."""
    return np.mod(coord, period) < duty * period


class ShadowMap:
    """Ground cells in the shadow of some part at one keyframe.

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe index.
    """

    def __init__(self, scene: Scene, frame: int):
        self.origin = scene.ego_track[frame, :2] - SHADOW_EXTENT
        size = int(np.ceil(2 * SHADOW_EXTENT / SHADOW_RES))
        self.mask = np.zeros((size, size), dtype=np.uint8)
        sun = scene.look.sun
        centres, halves, yaws = scene.part_boxes(frame)
        c, s = np.cos(yaws), np.sin(yaws)
        signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1)
                          for k in (-1, 1)],
                         dtype=np.float64)
        local = signs[None] * halves[:, None]  # (P, 8, 3)
        x = centres[:, None,
                    0] + c[:, None] * local[..., 0] - s[:, None] * local[...,
                                                                         1]
        y = centres[:, None,
                    1] + s[:, None] * local[..., 0] + c[:, None] * local[...,
                                                                         1]
        z = centres[:, None, 2] + local[..., 2]
        # Each corner's shadow on z = 0 along the sun direction.
        sx = x - z * sun[0] / sun[2]
        sy = y - z * sun[1] / sun[2]
        cells = np.stack([(sx - self.origin[0]) / SHADOW_RES,
                          (sy - self.origin[1]) / SHADOW_RES], -1)
        # cv2 clips polygons to the map; ``shift=2`` keeps quarter cells.
        for poly in cells:
            hull = cv2.convexHull(np.round(poly * 4).astype(np.int32))
            cv2.fillConvexPoly(self.mask, hull, 1, shift=2)

    def lookup(self, xy: np.ndarray) -> np.ndarray:
        """Whether ground points (N, 2) lie in shadow."""
        cell = np.floor((xy - self.origin) / SHADOW_RES).astype(np.int64)
        size = self.mask.shape[0]
        inside = np.all((cell >= 0) & (cell < size), axis=1)
        shadow = np.zeros(len(xy), dtype=bool)
        shadow[inside] = self.mask[cell[inside, 1], cell[inside, 0]] > 0
        return shadow


def _ground_colours(scene: Scene, points, labels):
    """Base colour (N, 3) of ground points (N, 3) with their texture."""
    xy = points[:, :2]
    flat = points * np.array([1, 1, 0])
    grain = value_noise(flat, 0.15)
    wear = _noise_where(flat, labels != TERRAIN, 2.5)
    tiles = (~_stripes(xy[:, 0] + 0.04, 0.8, 0.9)
             | ~_stripes(xy[:, 1] + 0.04, 0.8, 0.9))
    factor = np.select([
        labels == ROAD, labels == SIDEWALK, labels == TERRAIN, labels
        == OTHER_FLAT
    ], [
        1 + 0.06 * grain + 0.12 * wear,
        np.where(tiles, 0.8, 1 + 0.04 * grain + 0.06 * wear),
        1 + 0.15 * _noise_where(points, labels == TERRAIN, 1.5) + 0.08 * grain,
        1 + 0.05 * grain + 0.1 * wear,
    ], 1.0)
    base = np.zeros((len(labels), 3))
    for label, rgb in scene.look.ground.items():
        base[labels == label] = rgb
    colour = base * factor[:, None]
    paint = (labels == ROAD) & scene.layout.lane_marking(xy)
    colour[paint] = PAINT_COLOUR * (0.9 + 0.1 * wear[paint, None])
    return colour


def _part_colours(base, texture, local, normal_local, sky):
    """Colour (N, 3) of box-part points with their texture.

    Args:
        base (np.ndarray): (N, 3) the parts' base colours.
        texture (np.ndarray): (N,) ``TEX_*`` code.
        local (np.ndarray): (N, 3) point in the part's frame, z measured
            from the ground (the part's bottom may be above it).
        normal_local (np.ndarray): (N, 3) normal in the part's frame.
        sky (np.ndarray): (N, 3) sky colour the surface would mirror.
    """
    # The horizontal coordinate along the face the point lies on.
    along = np.where(
        np.abs(normal_local[:, 0]) > 0.5, local[:, 1], local[:, 0])
    z = local[:, 2]
    vertical = np.abs(normal_local[:, 2]) < 0.5
    grain = value_noise(local, 0.2)
    windows = (
        vertical & (texture == TEX_FACADE) & (z > 1.2)
        & _stripes(along + 0.9, 3.0, 0.45) & _stripes(z - 1.1, 3.2, 0.45))
    factor = np.select([
        texture == TEX_FACADE, texture == TEX_FOLIAGE, texture == TEX_BARK,
        texture == TEX_TYRE, texture == TEX_CLOTH, texture == TEX_SKIN, texture
        == TEX_BODY
    ], [
        1 + 0.05 * grain +
        0.05 * _noise_where(local, texture == TEX_FACADE, 1.7),
        1 + 0.25 * _noise_where(local, texture == TEX_FOLIAGE, 0.25),
        0.9 + 0.08 * np.sin(along * 40),
        np.ones(len(z)),
        np.where(_stripes(z, 0.25, 0.5), 0.9, 1.05),
        np.ones(len(z)),
        1 + 0.03 * grain,
    ], 1 + 0.03 * grain)
    colour = base * factor[:, None]
    colour[windows] = WINDOW_COLOUR
    # Glass, windows and car paint mirror part of the sky.
    reflect = np.where(windows, 0.3, 0.0)
    reflect = np.where(texture == TEX_GLASS, 0.35, reflect)
    reflect = np.where((texture == TEX_BODY) & ~vertical, 0.15, reflect)
    return (1 - reflect[:, None]) * colour + reflect[:, None] * sky


def sky_colour(scene: Scene, dirs: np.ndarray) -> np.ndarray:
    """The scene's sky (N, 3) RGB, from the horizon haze to the zenith."""
    up = np.clip(dirs[:, 2], 0, 1)[:, None]**0.6
    look = scene.look
    return (1 - up) * look.sky_horizon + up * look.sky_top


def surface_colours(scene: Scene,
                    frame: int,
                    origin: np.ndarray,
                    dirs: np.ndarray,
                    hits: dict,
                    shadows: Optional[ShadowMap] = None) -> np.ndarray:
    """RGB (R, 3) float seen along each ray, in [0, 255] before noise.

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe index.
        origin (np.ndarray): (3,) camera centre, map frame.
        dirs (np.ndarray): (R, 3) unit ray directions, map frame.
        hits (dict): :func:`cast_rays` output for these rays.
        shadows (ShadowMap, optional): The keyframe's shadow map (built
            here when not given).
    """
    if shadows is None:
        shadows = ShadowMap(scene, frame)
    look = scene.look
    colour = np.zeros((len(dirs), 3))
    sky = ~np.isfinite(hits['dist'])
    colour[sky] = sky_colour(scene, dirs[sky])
    dist, box, normal = hits['dist'], hits['box'], hits['normal']
    points = origin + dirs * np.where(np.isfinite(dist), dist, 0)[:, None]
    lit = np.ones(len(dirs))

    ground = np.nonzero(hits['ground'])[0]
    labels = scene.layout.ground_labels(points[ground, :2])
    colour[ground] = _ground_colours(scene, points[ground], labels)
    lit[ground] = ~shadows.lookup(points[ground, :2])

    on_box = np.nonzero(box >= 0)[0]
    part = box[on_box]
    centres, _, yaws = scene.part_boxes(frame)
    c, s = np.cos(yaws[part]), np.sin(yaws[part])
    rel = points[on_box] - centres[part]
    local = np.stack([
        c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1],
        points[on_box, 2]
    ], 1)
    n = normal[on_box]
    normal_local = np.stack(
        [c * n[:, 0] + s * n[:, 1], -s * n[:, 0] + c * n[:, 1], n[:, 2]], 1)
    mirrored = dirs[on_box] - 2 * np.einsum('ij,ij->i', dirs[on_box],
                                            n)[:, None] * n
    colour[on_box] = _part_colours(scene.part_colour[part],
                                   scene.part_texture[part], local,
                                   normal_local, sky_colour(scene, mirrored))

    surface = np.concatenate([ground, on_box])
    exposure = 1.0 / (look.ambient + 0.6 * look.sunlight)
    shade = exposure * (
        look.ambient + look.sunlight * lit[surface] *
        np.clip(normal[surface] @ look.sun, 0, 1))
    colour[surface] *= shade[:, None]
    return colour
