# Copyright (c) HilDA authors. All rights reserved.
"""Colour distributions of the demo world's materials and scene lighting.

Nothing here depends on the class alone: every car, facade, tree, piece of
clothing and every scene's road and sky draws its own colour from a
distribution modelled on real streets (car paint shares after published
colour-popularity surveys: white, black, grey and silver dominate), with
deliberate overlaps between classes (green and beige cars next to green
foliage and beige facades, grey cars on grey asphalt, red cars beside
brick). A class must be told by its shape and context, as in real images.
"""
from dataclasses import dataclass
from typing import Dict

import numpy as np

from .classes import OTHER_FLAT, ROAD, SIDEWALK, TERRAIN

# (RGB, weight) per material family.
CAR_PAINT = (
    ((232, 232, 228), 0.22),  # white
    ((28, 28, 31), 0.18),  # black
    ((168, 170, 173), 0.13),  # silver
    ((104, 107, 112), 0.13),  # grey
    ((40, 62, 125), 0.07),  # blue
    ((150, 28, 30), 0.07),  # red
    ((45, 88, 55), 0.04),  # green, close to foliage
    ((190, 172, 135), 0.04),  # beige, close to facades
    ((105, 72, 48), 0.03),  # brown
    ((150, 78, 62), 0.03),  # brick red
    ((205, 120, 40), 0.03),  # orange
    ((215, 190, 70), 0.03),  # yellow
)
FACADE = (
    ((150, 78, 62), 0.18),  # brick
    ((205, 185, 150), 0.16),  # sandstone / beige render
    ((215, 212, 203), 0.14),  # white render
    ((140, 140, 138), 0.14),  # concrete
    ((85, 86, 92), 0.08),  # dark cladding
    ((215, 195, 130), 0.08),  # pastel yellow
    ((150, 172, 140), 0.07),  # pastel green
    ((118, 135, 152), 0.07),  # blue-grey / glass
    ((185, 108, 72), 0.08),  # terracotta
)
FOLIAGE = (
    ((42, 95, 40), 0.35),
    ((70, 120, 50), 0.25),
    ((28, 64, 34), 0.15),
    ((115, 140, 55), 0.12),  # yellow-green
    ((165, 115, 45), 0.08),  # autumn
    ((130, 60, 40), 0.05),  # red autumn
)
CLOTHING = (
    ((30, 30, 35), 0.3),
    ((52, 72, 112), 0.2),  # denim
    ((120, 120, 122), 0.12),
    ((222, 220, 214), 0.1),
    ((150, 30, 35), 0.06),
    ((40, 90, 60), 0.06),
    ((200, 170, 120), 0.06),
    ((230, 120, 40), 0.04),
    ((90, 50, 120), 0.06),
)
SKIN = (((225, 185, 160), 0.3), ((190, 140, 105), 0.3), ((140, 95, 70), 0.2),
        ((90, 60, 45), 0.2))
METAL = (((70, 72, 76), 0.4), ((150, 152, 155), 0.3), ((35, 60, 45), 0.15),
         ((200, 200, 195), 0.15))
GLASS = (((40, 48, 58), 0.5), ((25, 28, 32), 0.3), ((70, 85, 95), 0.2))
BARK = (((75, 58, 45), 0.6), ((110, 100, 90), 0.4))
BARRIER = (((170, 170, 165), 0.4), ((225, 225, 220), 0.2),
           ((190, 40, 35), 0.2), ((220, 180, 40), 0.2))
CONE = (((235, 95, 25), 0.75), ((225, 190, 30), 0.15), ((200, 40, 40), 0.1))
ROAD_ASPHALT = (((62, 62, 66), 0.4), ((85, 85, 88), 0.3),
                ((105, 102, 98), 0.2), ((48, 48, 52), 0.1))
SIDEWALK_PAVING = (((160, 158, 152), 0.4), ((190, 180, 160), 0.25),
                   ((150, 95, 82), 0.15), ((120, 120, 118), 0.2))
TERRAIN_COVER = (((80, 125, 50), 0.45), ((120, 140, 65), 0.2),
                 ((155, 140, 85), 0.2), ((125, 100, 72), 0.15))
OTHER_FLAT_COVER = (((140, 140, 136), 0.5), ((170, 160, 140), 0.3),
                    ((110, 90, 80), 0.2))


def _pick(rng: np.random.Generator, family, jitter: float = 0.12):
    """One colour from a family, with per-object brightness and hue jitter.
    """
    colours = np.array([c for c, _ in family], dtype=np.float64)
    weights = np.array([w for _, w in family])
    colour = colours[rng.choice(len(colours), p=weights / weights.sum())]
    scale = rng.uniform(1 - jitter, 1 + jitter)
    hue = rng.normal(0, jitter * 0.25, 3) + 1
    return tuple(np.clip(colour * scale * hue, 0, 255))


def pick_paint(rng):
    return _pick(rng, CAR_PAINT)


def pick_facade(rng):
    return _pick(rng, FACADE)


def pick_foliage(rng):
    return _pick(rng, FOLIAGE)


def pick_clothing(rng):
    return _pick(rng, CLOTHING, 0.2)


def pick_skin(rng):
    return _pick(rng, SKIN, 0.08)


def pick_metal(rng, glass: bool = False):
    return _pick(rng, GLASS if glass else METAL)


def pick_bark(rng):
    return _pick(rng, BARK)


def pick_barrier(rng):
    return _pick(rng, BARRIER, 0.08)


def pick_cone(rng):
    return _pick(rng, CONE, 0.08)


@dataclass
class SceneLook:
    """Lighting, sky and ground materials of one scene.

    Attributes:
        sun (np.ndarray): (3,) unit vector towards the sun, map frame.
        ambient (float): Sky light every surface receives.
        sunlight (float): Direct light on surfaces facing the sun.
        sky_top (np.ndarray): (3,) RGB of the zenith.
        sky_horizon (np.ndarray): (3,) RGB at the horizon.
        ground (dict[int, np.ndarray]): RGB of each ground class.
    """
    sun: np.ndarray
    ambient: float
    sunlight: float
    sky_top: np.ndarray
    sky_horizon: np.ndarray
    ground: Dict[int, np.ndarray]


def draw_look(rng: np.random.Generator) -> SceneLook:
    """A scene's sun (direction and strength), sky and ground colours.

    A quarter of the scenes are overcast: grey sky, weak sun, faint
    shadows; the others have a clear sky and the sun 15-65 degrees high.
    """
    azimuth = rng.uniform(-np.pi, np.pi)
    elevation = np.deg2rad(rng.uniform(15, 65))
    sun = np.array([
        np.cos(elevation) * np.cos(azimuth),
        np.cos(elevation) * np.sin(azimuth),
        np.sin(elevation)
    ])
    if rng.uniform() < 0.25:
        grey = rng.uniform(165, 215)
        ambient, sunlight = rng.uniform(0.85, 1.0), rng.uniform(0.05, 0.2)
        sky_top = np.full(3, grey) * rng.uniform(0.92, 1.0, 3)
        sky_horizon = np.full(3, grey + 15) * rng.uniform(0.95, 1.0, 3)
    else:
        ambient, sunlight = rng.uniform(0.45, 0.65), rng.uniform(0.45, 0.75)
        sky_top = np.array([
            rng.uniform(60, 110),
            rng.uniform(120, 165),
            rng.uniform(200, 245)
        ])
        sky_horizon = np.array([
            rng.uniform(170, 205),
            rng.uniform(190, 220),
            rng.uniform(215, 245)
        ])
    ground = {
        ROAD: np.array(_pick(rng, ROAD_ASPHALT, 0.08)),
        SIDEWALK: np.array(_pick(rng, SIDEWALK_PAVING, 0.08)),
        TERRAIN: np.array(_pick(rng, TERRAIN_COVER, 0.1)),
        OTHER_FLAT: np.array(_pick(rng, OTHER_FLAT_COVER, 0.08)),
    }
    return SceneLook(sun, ambient, sunlight, sky_top,
                     np.clip(sky_horizon, 0, 255), ground)
