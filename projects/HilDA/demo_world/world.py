# Copyright (c) HilDA authors. All rights reserved.
"""Procedural street scenes: layout, objects and their motion.

A scene lives in its own *map* frame: the ground is the plane z = 0, a
straight main road runs along x (right-hand traffic, two lanes plus a
parking strip on each side), optionally crossed by a side road along y.
Every object is an oriented box or a small set of boxes (its *parts*,
e.g. a car's body, cabin and wheels) sitting on the ground and moving at
constant velocity; the ego vehicle drives along the right lane with a
gentle weave. A fixed per-scene transform places the map in the global
frame, so ``ego2global`` has arbitrary headings and large offsets like
nuScenes.
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from .classes import (CAR, MANMADE, PEDESTRIAN, ROAD, SIDEWALK, TERRAIN,
                      VEGETATION)
from .poses import make_pose, rotation_zyx

TIME_STEP = 0.5  # seconds between keyframes, as nuScenes' 2 Hz samples
LANE_WIDTH = 3.5

# Surface textures of box parts (see appearance.py); ground surfaces take
# theirs from the ground class.
TEX_PLAIN, TEX_FACADE, TEX_FOLIAGE, TEX_BARK = 0, 1, 2, 3
TEX_BODY, TEX_GLASS, TEX_TYRE, TEX_CLOTH, TEX_SKIN = 4, 5, 6, 7, 8


@dataclass
class Layout:
    """Ground layout of a scene (metres, map frame).

    Attributes:
        road_half (float): Half width of the road (lanes + parking).
        sidewalk (float): Sidewalk width on each side of a road.
        cross_x (float, optional): x of the side road's axis, if any.
    """
    road_half: float
    sidewalk: float
    cross_x: Optional[float]

    def _distances(self, xy: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Distances to the main road's and the side road's axes."""
        d_main = np.abs(xy[..., 1])
        d_cross = (
            np.abs(xy[..., 0] - self.cross_x)
            if self.cross_x is not None else np.full_like(d_main, np.inf))
        return d_main, d_cross

    def ground_labels(self, xy: np.ndarray) -> np.ndarray:
        """Lidarseg id (road / sidewalk / terrain) of ground points (..., 2).
        """
        d = np.minimum(*self._distances(xy))
        return np.where(
            d < self.road_half, ROAD,
            np.where(d < self.road_half + self.sidewalk, SIDEWALK,
                     TERRAIN)).astype(np.int64)

    def lane_marking(self, xy: np.ndarray) -> np.ndarray:
        """Whether ground points (..., 2) lie on painted road markings.

        Dashed centre lines on both roads and solid lines between lanes and
        parking strips on the main road, both interrupted at the crossing.
        """
        d_main, d_cross = self._distances(xy)
        along_main = np.mod(xy[..., 0], 6.0) < 3.0
        along_cross = np.mod(xy[..., 1], 6.0) < 3.0
        main = (d_cross > self.road_half) & (
            ((d_main < 0.075) & along_main) |
            (np.abs(d_main - LANE_WIDTH) < 0.06))
        cross = (d_main > self.road_half) & (d_cross < 0.075) & along_cross
        return main | cross

    def in_crossing_corridor(self, x: float, margin: float) -> bool:
        """Whether x is within ``margin`` of the side road's sidewalks."""
        return self.cross_x is not None and (
            abs(x - self.cross_x) < self.road_half + self.sidewalk + margin)


def ego_path(t, speed: float, weave: Tuple[float, float, float]):
    """Ego position (..., 2) and heading along the right lane at time(s) t.

    Args:
        t (float | np.ndarray): Time(s) in seconds.
        speed (float): Speed along x, m/s.
        weave (tuple): Amplitude (m), period (s), phase of a lateral sway.
    """
    amp, period, phase = weave
    t = np.asarray(t, dtype=np.float64)
    omega = 2 * np.pi / period
    x = speed * t
    y = -LANE_WIDTH / 2 + amp * np.sin(omega * t + phase)
    # Heading follows the path's tangent (no sideways slip).
    yaw = np.arctan2(amp * omega * np.cos(omega * t + phase), speed)
    return np.stack([x, y], -1), yaw


@dataclass
class Scene:
    """One generated scene.

    Objects (index o) are what a 3D box annotates; parts (index p) are the
    boxes the sensors see. Part offsets are relative to the object's bottom
    centre, in the object frame (x along its length).

    Attributes:
        layout (Layout): Ground layout.
        times (np.ndarray): (T,) keyframe times in seconds from the start.
        ego_speed (float): Ego speed, m/s.
        ego_weave (tuple): Amplitude (m), period (s), phase of the weave.
        map2global (np.ndarray): 4x4 pose of the map in the global frame.
        obj_kind (list[str]): Kind of each object ('car', 'tree', ...).
        obj_label (np.ndarray): (O,) lidarseg id.
        obj_size (np.ndarray): (O, 3) box length, width, height.
        obj_pos0 (np.ndarray): (O, 2) bottom centre at time 0.
        obj_vel (np.ndarray): (O, 2) velocity, m/s, map frame.
        obj_yaw (np.ndarray): (O,) heading in the map frame.
        obj_tint (np.ndarray): (O,) brightness factor of the object.
        part_obj (np.ndarray): (P,) object of each part.
        part_offset (np.ndarray): (P, 3) part centre in the object frame.
        part_half (np.ndarray): (P, 3) half extents.
        part_texture (np.ndarray): (P,) texture code (``TEX_*``).
    """
    layout: Layout
    times: np.ndarray
    ego_speed: float
    ego_weave: Tuple[float, float, float]
    map2global: np.ndarray
    obj_kind: List[str]
    obj_label: np.ndarray
    obj_size: np.ndarray
    obj_pos0: np.ndarray
    obj_vel: np.ndarray
    obj_yaw: np.ndarray
    obj_tint: np.ndarray
    part_obj: np.ndarray
    part_offset: np.ndarray
    part_half: np.ndarray
    part_texture: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.times)

    def ego_xy_yaw(self, t):
        """Ego position (..., 2) and heading at time(s) ``t`` (map frame)."""
        return ego_path(t, self.ego_speed, self.ego_weave)

    def ego2map(self, frame: int) -> np.ndarray:
        """4x4 ego pose in the map frame at keyframe ``frame``."""
        xy, yaw = self.ego_xy_yaw(self.times[frame])
        return make_pose(rotation_zyx(float(yaw)), [xy[0], xy[1], 0.0])

    def object_xy(self, frame: int) -> np.ndarray:
        """(O, 2) bottom centres at keyframe ``frame``."""
        return self.obj_pos0 + self.obj_vel * self.times[frame]

    def object_yaw(self, frame: int) -> np.ndarray:
        """(O,) headings at keyframe ``frame`` (map frame)."""
        return self.obj_yaw.copy()

    def part_boxes(self, frame: int):
        """Oriented boxes of all parts at keyframe ``frame``.

        Returns:
            tuple: centres (P, 3), half extents (P, 3), yaws (P,).
        """
        yaw = self.obj_yaw[self.part_obj]
        c, s = np.cos(yaw), np.sin(yaw)
        off = self.part_offset
        centres = np.empty_like(off)
        centres[:, :2] = self.object_xy(frame)[self.part_obj]
        centres[:, 0] += c * off[:, 0] - s * off[:, 1]
        centres[:, 1] += s * off[:, 0] + c * off[:, 1]
        centres[:, 2] = off[:, 2]
        return centres, self.part_half, yaw


class _SceneBuilder:
    """Collects objects and rejects those that would collide over time.

    Only things near the traffic (ego, cars, pedestrians, poles, trunks,
    hedges) are collision-checked, with footprint circles at every
    keyframe; buildings are laid out so that they cannot collide.
    """

    def __init__(self, times: np.ndarray):
        self.times = times
        self.objects = []
        self.parts = []
        self._tracks = np.zeros((0, len(times), 2))
        self._radii = np.zeros(0)

    def _track(self, xy, vel):
        return np.asarray(xy) + np.asarray(vel) * self.times[:, None]

    def reserve(self, track: np.ndarray, radius: float) -> None:
        """Keep a (T, 2) track free (e.g. the ego's path)."""
        self._tracks = np.concatenate([self._tracks, track[None]])
        self._radii = np.append(self._radii, radius)

    def is_free(self, xy, vel, radius: float) -> bool:
        gap = np.linalg.norm(self._tracks - self._track(xy, vel), axis=2)
        return not np.any(gap < self._radii[:, None] + radius)

    def add(self,
            kind,
            label,
            xy,
            yaw,
            size,
            parts,
            vel=(0.0, 0.0),
            tint=1.0,
            check=True,
            radius=None) -> bool:
        """Add an object unless its footprint would hit another one.

        Args:
            kind (str): Object kind.
            label (int): Lidarseg id.
            xy (tuple): Bottom centre at time 0.
            yaw (float): Heading.
            size (tuple): Box length, width, height.
            parts (list[tuple]): (offset (3,), size (3,), texture) each.
            vel (tuple): Velocity.
            tint (float): Brightness factor.
            check (bool): Collision-check and reserve the footprint.
            radius (float, optional): Footprint radius; defaults to the
                circle around the box (a tree's is its trunk's).

        Returns:
            bool: Whether the object was added.
        """
        if radius is None:
            radius = 0.5 * float(np.hypot(size[0], size[1]))
        if check:
            if not self.is_free(xy, vel, radius):
                return False
            self.reserve(self._track(xy, vel), radius)
        obj = len(self.objects)
        self.objects.append((kind, label, size, xy, vel, yaw, tint))
        self.parts.extend((obj, off, psize, tex) for off, psize, tex in parts)
        return True

    def build(self, layout, ego_speed, ego_weave, map2global) -> Scene:
        kind, label, size, xy, vel, yaw, tint = zip(*self.objects)
        p_obj, p_off, p_size, p_tex = zip(*self.parts)
        return Scene(
            layout=layout,
            times=self.times,
            ego_speed=ego_speed,
            ego_weave=ego_weave,
            map2global=map2global,
            obj_kind=list(kind),
            obj_label=np.array(label, dtype=np.int64),
            obj_size=np.array(size, dtype=np.float64),
            obj_pos0=np.array(xy, dtype=np.float64),
            obj_vel=np.array(vel, dtype=np.float64),
            obj_yaw=np.array(yaw, dtype=np.float64),
            obj_tint=np.array(tint, dtype=np.float64),
            part_obj=np.array(p_obj, dtype=np.int64),
            part_offset=np.array(p_off, dtype=np.float64),
            part_half=np.array(p_size, dtype=np.float64) / 2,
            part_texture=np.array(p_tex, dtype=np.int64))


def _part(x, y, z0, length, width, height, texture):
    """A part from its bottom-centre offset and size."""
    return ((x, y, z0 + height / 2), (length, width, height), texture)


def car_parts(length, width, height):
    """Body on two wheel slabs with a glass cabin, inside l x w x h."""
    body_top = 0.58 * height
    wheel_len = 0.17 * length
    return [
        _part(0, 0, 0.3, length, width, body_top - 0.3, TEX_BODY),
        _part(-0.05 * length, 0, body_top, 0.55 * length, 0.9 * width,
              height - body_top, TEX_GLASS),
        _part(0.32 * length, 0, 0, wheel_len, 0.96 * width, 0.6, TEX_TYRE),
        _part(-0.32 * length, 0, 0, wheel_len, 0.96 * width, 0.6, TEX_TYRE),
    ]


def pedestrian_parts(height):
    """Legs, torso and head, inside a 0.7 x 0.65 x height box."""
    return [
        _part(0, 0, 0, 0.28, 0.36, 0.47 * height, TEX_CLOTH),
        _part(0, 0, 0.47 * height, 0.3, 0.5, 0.36 * height, TEX_CLOTH),
        _part(0, 0, 0.85 * height, 0.22, 0.2, 0.15 * height, TEX_SKIN),
    ]


def _add_buildings_and_greenery(b, rng, layout, x_lo, x_hi):
    """Buildings behind the sidewalks, hedges, street trees and poles."""
    curb = layout.road_half + layout.sidewalk
    for side in (-1, 1):
        x = x_lo + rng.uniform(0, 10)
        while x < x_hi:
            width = rng.uniform(8, 25)
            gap = rng.uniform(1.5, 9)
            if (layout.in_crossing_corridor(x, 2)
                    or layout.in_crossing_corridor(x + width, 2)
                    or rng.uniform() < 0.12):  # an empty lot now and then
                x += width + gap
                continue
            depth, height = rng.uniform(8, 16), rng.uniform(5, 22)
            setback = rng.uniform(1.5, 8)
            cx = x + width / 2
            b.add(
                'building',
                MANMADE, (cx, side * (curb + setback + depth / 2)),
                0.0, (width, depth, height),
                [_part(0, 0, 0, width, depth, height, TEX_FACADE)],
                tint=rng.uniform(0.93, 1.07),
                check=False)
            if setback > 3 and rng.uniform() < 0.6:
                length, h = 0.6 * width, rng.uniform(0.7, 1.3)
                y = side * (curb + rng.uniform(0.8, setback - 0.8))
                b.add(
                    'hedge',
                    VEGETATION, (cx, y),
                    0.0, (length, 1.0, h),
                    [_part(0, 0, 0, length, 1.0, h, TEX_FOLIAGE)],
                    tint=rng.uniform(0.93, 1.07))
            x += width + gap

        # Street trees at the sidewalk's outer edge: trunk + crown. Their
        # crowns (<= 2 m from the trunk) stay clear of the buildings, which
        # are set back at least 1.5 m behind the sidewalk.
        x = x_lo + rng.uniform(0, 10)
        while x < x_hi:
            if (rng.uniform() < 0.6 and not layout.in_crossing_corridor(x, 2)):
                crown, base = rng.uniform(2.5, 4), rng.uniform(2.3, 3)
                crown_h = rng.uniform(2.5, 4)
                b.add(
                    'tree',
                    VEGETATION, (x, side * (curb - 0.7)),
                    0.0, (crown, crown, base + crown_h), [
                        _part(0, 0, 0, 0.35, 0.35, base + 0.3, TEX_BARK),
                        _part(0, 0, base, crown, crown, crown_h, TEX_FOLIAGE)
                    ],
                    tint=rng.uniform(0.93, 1.07),
                    radius=0.3)
            x += rng.uniform(8, 15)

        x = x_lo + rng.uniform(0, 15)
        while x < x_hi:
            h = rng.uniform(5, 8)
            if not layout.in_crossing_corridor(x, -layout.sidewalk):
                b.add('pole', MANMADE, (x, side * (layout.road_half + 0.4)),
                      0.0, (0.25, 0.25, h),
                      [_part(0, 0, 0, 0.25, 0.25, h, TEX_PLAIN)])
            x += rng.uniform(15, 30)


def _add_car(b, rng, xy, yaw, speed=0.0) -> bool:
    """A car of random size and tint at ``xy`` driving along ``yaw``."""
    length, width = rng.uniform(3.9, 4.9), rng.uniform(1.7, 2.0)
    size = (length, width, rng.uniform(1.45, 1.9))
    vel = (speed * np.cos(yaw), speed * np.sin(yaw))
    return b.add(
        'car',
        CAR,
        xy,
        yaw,
        size,
        car_parts(*size),
        vel=vel,
        tint=rng.uniform(0.93, 1.07))


def _add_traffic(b, rng, layout, ego_speed, x_lo, x_hi):
    """Parked cars, moving cars and pedestrians (collision-checked)."""
    for side in (-1, 1):
        x = x_lo + rng.uniform(0, 6)
        while x < x_hi:
            if (rng.uniform() < 0.5 and not layout.in_crossing_corridor(x, 3)):
                # Parked in the driving direction of the nearer lane.
                yaw = (0.0 if side < 0 else np.pi) + rng.normal(0, 0.03)
                _add_car(b, rng, (x, side * (layout.road_half - 1.2)), yaw)
            x += rng.uniform(5.5, 12)

    # Moving cars: some in the ego's lane at about its speed, some in the
    # opposite lane, some on the side road; the collision check keeps them
    # apart from each other and from the ego.
    lanes = [(-LANE_WIDTH / 2, 0.0, rng.integers(0, 3)),
             (LANE_WIDTH / 2, np.pi, rng.integers(2, 6))]
    for y, yaw, count in lanes:
        for _ in range(count):
            for _attempt in range(10):
                speed = (
                    ego_speed +
                    rng.uniform(-1, 1) if yaw == 0 else rng.uniform(4, 12))
                xy = (rng.uniform(x_lo, x_hi), y + rng.normal(0, 0.15))
                if _add_car(b, rng, xy, yaw + rng.normal(0, 0.02), speed):
                    break
    if layout.cross_x is not None:
        for _ in range(rng.integers(0, 3)):
            for _attempt in range(10):
                side = rng.choice([-1, 1])
                xy = (layout.cross_x + side * LANE_WIDTH / 2,
                      rng.uniform(-60, 60))
                yaw = side * np.pi / 2  # right-hand traffic
                if _add_car(b, rng, xy, yaw, rng.uniform(3, 9)):
                    break

    # Pedestrians walk along the sidewalks, stand, or cross the road; those
    # crossing walk slowly enough to stay between the two curbs' sidewalks
    # however long the scene is (buildings are not collision-checked).
    curb = layout.road_half + layout.sidewalk
    max_crossing_speed = (2 * curb - 2) / max(b.times[-1], 1e-9)
    for _ in range(rng.integers(6, 13)):
        for _attempt in range(10):
            side = rng.choice([-1, 1])
            height = rng.uniform(1.55, 1.9)
            if rng.uniform() < 0.15:
                xy = (rng.uniform(x_lo, x_hi), side * (curb - 1))
                yaw = -side * np.pi / 2 + rng.normal(0, 0.1)
                speed = min(rng.uniform(1.0, 1.5), max_crossing_speed)
            else:
                xy = (rng.uniform(x_lo, x_hi),
                      side * rng.uniform(layout.road_half + 0.5, curb - 0.4))
                moving = rng.uniform() < 0.7
                yaw = (
                    rng.choice([0, np.pi]) + rng.normal(0, 0.05)
                    if moving else rng.uniform(-np.pi, np.pi))
                speed = rng.uniform(0.8, 1.6) if moving else 0.0
            vel = (speed * np.cos(yaw), speed * np.sin(yaw))
            if b.add(
                    'pedestrian',
                    PEDESTRIAN,
                    xy,
                    yaw, (0.7, 0.65, height),
                    pedestrian_parts(height),
                    vel=vel,
                    tint=rng.uniform(0.93, 1.07)):
                break


def generate_scene(rng: np.random.Generator, num_frames: int) -> Scene:
    """Draw one scene: layout, ego path, static and moving objects.

    Args:
        rng (np.random.Generator): The scene's random generator.
        num_frames (int): Number of keyframes, ``TIME_STEP`` apart.

    Returns:
        Scene: The scene, deterministic for the generator's state.
    """
    times = np.arange(num_frames) * TIME_STEP
    layout = Layout(
        road_half=rng.uniform(5.8, 6.5),
        sidewalk=rng.uniform(2.5, 4.0),
        cross_x=rng.uniform(10, 40) if rng.uniform() < 0.5 else None)
    ego_speed = rng.uniform(3, 9)
    weave_amp, weave_period = rng.uniform(0, 0.3), rng.uniform(6, 12)
    ego_weave = (weave_amp, weave_period, rng.uniform(0, 2 * np.pi))
    yaw = rng.uniform(-np.pi, np.pi)
    map2global = make_pose(
        rotation_zyx(yaw), [*rng.uniform(300, 2500, 2), 0.0])

    builder = _SceneBuilder(times)
    builder.reserve(ego_path(times, ego_speed, ego_weave)[0], 2.6)
    end = ego_speed * times[-1]
    _add_buildings_and_greenery(builder, rng, layout, -100, end + 100)
    _add_traffic(builder, rng, layout, ego_speed, -60, end + 60)
    return builder.build(layout, ego_speed, ego_weave, map2global)
