# Copyright (c) HilDA authors. All rights reserved.
"""What surfaces look like to the cameras: colour, texture and lighting.

Colour = the part's own base colour (drawn per object, ``materials.py``)
or the scene's ground material x texture x lighting. Textures are
functions of the world position of the surface point, so they stick to
the surfaces across views and frames (asphalt grain, wear patches and
paint, paving joints, facade windows, foliage, clothing folds, tyres).
Lighting is the scene's: sky ambient plus Lambertian sun light, and the
ground and the parts lie in the cast shadows of every part (a layered
shadow map rasterised per keyframe from the parts projected along the sun
direction, see :class:`ShadowMap`).
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
# Heights (m) of the shadow map's levels: dense where cars and people are.
SHADOW_LEVELS = (0.0, 0.3, 0.7, 1.2, 1.8, 2.6, 3.6, 5.0, 7.0, 10.0, 14.0, 19.0)
SHADOW_CLEARANCE = 0.2  # metres between a point and the level it looks up
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
    """Where the parts' shadows fall at one keyframe, at a few heights.

    Level ``h`` (one of ``SHADOW_LEVELS``) rasterises, on the ground
    plane, the shadow cast along the sun by every part's slab above height
    ``h``. The ground (level 0) is in shadow where any part's shadow
    falls; a point on a part at height ``z`` is in shadow when its own
    projection onto the ground lies in the shadow of the first level at
    least ``SHADOW_CLEARANCE`` above it: something above the point then
    lies on its line to the sun. A part never shades its own lit faces
    (above the point it lies away from the sun), while a car's cabin
    shades its bonnet and a building the car beside it. Occluders in the
    gap between the point and its level are missed.

    Args:
        scene (Scene): The scene.
        frame (int): Keyframe index.
    """

    def __init__(self, scene: Scene, frame: int):
        self.origin = scene.ego_track[frame, :2] - SHADOW_EXTENT
        size = int(np.ceil(2 * SHADOW_EXTENT / SHADOW_RES))
        self.masks = np.zeros((len(SHADOW_LEVELS), size, size), dtype=np.uint8)
        sun = scene.look.sun
        # Ground displacement of a point's shadow per metre of its height.
        self.shift = -sun[:2] / sun[2]
        centres, halves, yaws = scene.part_boxes(frame)
        c, s = np.cos(yaws), np.sin(yaws)
        signs = np.array([[i, j] for i in (-1, 1) for j in (-1, 1)],
                         dtype=np.float64)
        local = signs[None] * halves[:, None, :2]  # (P, 4, 2)
        footprint = np.stack([
            centres[:, None, 0] + c[:, None] * local[..., 0] -
            s[:, None] * local[..., 1], centres[:, None, 1] +
            s[:, None] * local[..., 0] + c[:, None] * local[..., 1]
        ], -1)
        bottom, top = centres[:, 2] - halves[:, 2], centres[:, 2] + halves[:,
                                                                           2]
        for mask, height in zip(self.masks, SHADOW_LEVELS):
            above = np.nonzero(top > height)[0]
            low = np.maximum(bottom[above], height)[:, None, None]
            high = top[above][:, None, None]
            # The slab's shadow: hull of its bottom and top outlines cast
            # onto z = 0.
            corners = np.concatenate([
                footprint[above] + low * self.shift,
                footprint[above] + high * self.shift
            ], 1)
            cells = (corners - self.origin) / SHADOW_RES
            # cv2 clips polygons to the map; ``shift=2`` keeps quarter
            # cells.
            for poly in cells:
                hull = cv2.convexHull(np.round(poly * 4).astype(np.int32))
                cv2.fillConvexPoly(mask, hull, 1, shift=2)

    def lookup(self,
               xy: np.ndarray,
               z: Optional[np.ndarray] = None) -> np.ndarray:
        """Whether surface points are in shadow.

        Args:
            xy (np.ndarray): (N, 2) positions, map frame.
            z (np.ndarray, optional): (N,) heights; None for the ground.
        """
        level = np.zeros(len(xy), dtype=np.int64)
        if z is not None:
            xy = xy - z[:, None] * self.shift
            level = np.searchsorted(SHADOW_LEVELS, z + SHADOW_CLEARANCE)
        cell = np.floor((xy - self.origin) / SHADOW_RES).astype(np.int64)
        size = self.masks.shape[1]
        inside = np.all(
            (cell >= 0) & (cell < size), axis=1) & (
                level < len(SHADOW_LEVELS))
        shadow = np.zeros(len(xy), dtype=bool)
        shadow[inside] = self.masks[level[inside], cell[inside, 1],
                                    cell[inside, 0]] > 0
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
    lit[on_box] = ~shadows.lookup(points[on_box, :2], points[on_box, 2])
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
