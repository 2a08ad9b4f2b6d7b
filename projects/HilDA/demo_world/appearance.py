# Copyright (c) HilDA authors. All rights reserved.
"""What surfaces look like to the cameras: colour, texture and shading.

Colour = class base colour (``PALETTE``) x object tint x texture x shading.
Textures are functions of the world position of the surface point, so
they stick to the surfaces across views and frames (road grain and paint,
sidewalk tiles, facade windows, foliage, clothing stripes, car glass and
tyres). Shading is Lambertian under a fixed sun plus a strong sky ambient.
Texture and shading stay within about +-20 % of the base colour, so every
class keeps its own colour family; an image model can tell classes apart
from colour and texture together.
"""
import numpy as np

from .classes import PALETTE, ROAD, SIDEWALK, SKY_COLOR, TERRAIN, lookup
from .world import (TEX_BARK, TEX_BODY, TEX_CLOTH, TEX_FACADE, TEX_FOLIAGE,
                    TEX_GLASS, TEX_SKIN, TEX_TYRE, Scene)

SUN = np.array([0.4, 0.3, 0.87]) / np.linalg.norm([0.4, 0.3, 0.87])
# Sky light on every surface plus sun on those facing it: shading spans
# 0.9 (facing away) to 1.1 (facing the sun), centred on the base colours.
AMBIENT, SUNLIGHT = 0.9, 0.2
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
    return np.sin(points @ _WAVES.T / scale + _PHASES).mean(1)


def _stripes(coord: np.ndarray, period: float, duty: float) -> np.ndarray:
    """Boolean stripes: True over ``duty`` of each ``period``."""
    return np.mod(coord, period) < duty * period


def _ground_texture(scene: Scene, points, labels):
    """Texture factor (N,) and paint mask of ground points (N, 3)."""
    xy = points[:, :2]
    grain = value_noise(points * np.array([1, 1, 0]), 0.15)
    tiles = (~_stripes(xy[:, 0] + 0.04, 0.8, 0.9)
             | ~_stripes(xy[:, 1] + 0.04, 0.8, 0.9))
    factor = np.select([labels == ROAD, labels == SIDEWALK, labels == TERRAIN],
                       [
                           1 + 0.05 * grain,
                           np.where(tiles, 0.86, 1 + 0.03 * grain),
                           1 + 0.1 * value_noise(points, 1.5) + 0.05 * grain,
                       ], 1.0)
    paint = (labels == ROAD) & scene.layout.lane_marking(xy)
    return np.where(paint, 1.45, factor)


def _part_texture(texture, local, normal_local):
    """Texture factor (N,) and sky-reflection weight (N,) of box parts.

    Args:
        texture (np.ndarray): (N,) ``TEX_*`` code.
        local (np.ndarray): (N, 3) point in the part's frame, z measured
            from the ground (the part's bottom may be above it).
        normal_local (np.ndarray): (N, 3) normal in the part's frame.
    """
    # The horizontal coordinate along the face the point lies on.
    along = np.where(
        np.abs(normal_local[:, 0]) > 0.5, local[:, 1], local[:, 0])
    z = local[:, 2]
    vertical = np.abs(normal_local[:, 2]) < 0.5
    grain = value_noise(local, 0.2)
    windows = (
        vertical & (z > 1.2) & _stripes(along + 0.9, 3.0, 0.45)
        & _stripes(z - 1.1, 3.2, 0.45))
    factor = np.select([
        texture == TEX_FACADE, texture == TEX_FOLIAGE, texture == TEX_BARK,
        texture == TEX_TYRE, texture == TEX_CLOTH, texture == TEX_SKIN, texture
        == TEX_BODY
    ], [
        np.where(windows, 1.12, 1 + 0.03 * grain),
        1 + 0.15 * value_noise(local, 0.25),
        0.9 + 0.08 * np.sin(along * 40),
        np.full(len(z), 0.9),
        np.where(_stripes(z, 0.25, 0.5), 0.92, 1.06),
        np.full(len(z), 1.08),
        1 + 0.03 * grain,
    ], 1 + 0.03 * grain)
    # Glass and windows mirror part of the sky.
    reflect = np.where(windows, 0.15, 0.0)
    reflect = np.where(texture == TEX_GLASS, 0.3, reflect)
    return factor, reflect


def sky_colour(dirs: np.ndarray) -> np.ndarray:
    """Sky (N, 3) RGB, hazier towards the horizon."""
    up = np.clip(dirs[:, 2], 0, 1)
    return np.asarray(SKY_COLOR, float) * (1.08 - 0.2 * up)[:, None]


def surface_colours(scene: Scene, frame: int, origin: np.ndarray,
                    dirs: np.ndarray, hits: dict) -> np.ndarray:
    """RGB (R, 3) float seen along each ray, in [0, 255] before noise.

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe index.
        origin (np.ndarray): (3,) camera centre, map frame.
        dirs (np.ndarray): (R, 3) unit ray directions, map frame.
        hits (dict): :func:`cast_rays` output for these rays.
    """
    colour = sky_colour(dirs)
    dist, box, normal = hits['dist'], hits['box'], hits['normal']
    points = origin + dirs * np.where(np.isfinite(dist), dist, 0)[:, None]

    ground = np.nonzero(hits['ground'])[0]
    labels = scene.layout.ground_labels(points[ground, :2])
    texture = _ground_texture(scene, points[ground], labels)
    colour[ground] = lookup(PALETTE, labels) * texture[:, None]

    on_box = np.nonzero(box >= 0)[0]
    part = box[on_box]
    obj = scene.part_obj[part]
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
    factor, reflect = _part_texture(scene.part_texture[part], local,
                                    normal_local)
    base = lookup(PALETTE, scene.obj_label[obj]) * (scene.obj_tint[obj] *
                                                    factor)[:, None]
    colour[on_box] = ((1 - reflect[:, None]) * base +
                      reflect[:, None] * np.asarray(SKY_COLOR, float))

    surface = np.concatenate([ground, on_box])
    shade = AMBIENT + SUNLIGHT * np.clip(normal[surface] @ SUN, 0, 1)
    colour[surface] *= shade[:, None]
    return colour
