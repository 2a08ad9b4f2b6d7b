# Copyright (c) HilDA authors. All rights reserved.
"""Procedural street scenes: layout, objects, their motion and lighting.

A scene lives in its own *map* frame: the ground is the plane z = 0, a
main road (right-hand traffic, one or two lanes per direction, optionally
a raised median, parking strips at both curbs) runs straight along x and
is optionally crossed by a side road along y, or bends in one circular
curve; optionally a parking lot lies beside it. Everything is laid out in
the *road frame* (x along the main road's axis, y to its left) and then
bent into the map frame (:meth:`Layout.to_map`); on a straight road the
two frames are one. Every object is a set of oriented boxes (its *parts*,
e.g. a car's body, cabin and wheels) standing on the ground. Objects
follow tracks sampled at the keyframes (position and heading): drives
along the lanes at their own speeds, turns at the intersection (arcs),
stops and starts. The ego vehicle accelerates, brakes to a stop, turns at
intersections and follows the curves. A fixed per-scene transform places
the map in the global frame, so ``ego2global`` has arbitrary headings and
large offsets like nuScenes.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from .classes import (BARRIER, BICYCLE, BUS, CAR, MANMADE, MOTORCYCLE,
                      OTHER_FLAT, PEDESTRIAN, ROAD, SIDEWALK, TERRAIN,
                      TRAFFIC_CONE, TRUCK, VEGETATION)
from .materials import (SceneLook, draw_look, pick_bark, pick_barrier,
                        pick_clothing, pick_cone, pick_facade, pick_foliage,
                        pick_metal, pick_paint, pick_skin)
from .poses import make_pose, rotation_zyx

TIME_STEP = 0.5  # seconds between keyframes, as nuScenes' 2 Hz samples
LANE_WIDTH = 3.5
NO_TURN = 1e9  # arc length of a turn that never comes (clamped to 1e5)
# Shares of the main road's shapes, and the radius range (m) of a curve:
# from a city corner to a gentle bend.
# Box kept free round the ego's path (m): its size (about nuScenes' Renault
# Zoe) with a margin.
EGO_CLEARANCE = (5.0, 2.2)
STREETS = dict(straight=0.25, intersection=0.45, curve=0.3)
CURVE_RADIUS = (60.0, 250.0)

# Surface textures of box parts (see appearance.py); ground surfaces take
# theirs from the ground class.
TEX_PLAIN, TEX_FACADE, TEX_FOLIAGE, TEX_BARK = 0, 1, 2, 3
TEX_BODY, TEX_GLASS, TEX_TYRE, TEX_CLOTH, TEX_SKIN = 4, 5, 6, 7, 8


@dataclass
class Layout:
    """Ground layout of a scene (metres, map frame).

    Attributes:
        road_half (float): Half width of the main road (median, lanes,
            parking strip).
        sidewalk (float): Sidewalk width on each side of a road.
        cross_x (float, optional): x of the side road's axis, if any.
        lanes (int): Lanes per direction on the main road.
        median (float): Half width of the raised median (0: none).
        lot (tuple, optional): Parking lot ``(x0, x1, side, depth)``
            behind the sidewalk on side ``side`` (+1: left, -1: right).
        curvature (float): Curvature (1/m) of the main road's axis, + to
            the left; 0 for a straight road. Curved roads have no side
            road (``cross_x`` is None).
    """
    road_half: float
    sidewalk: float
    cross_x: Optional[float]
    lanes: int = 1
    median: float = 0.0
    lot: Optional[Tuple[float, float, int, float]] = None
    curvature: float = 0.0

    def to_map(self, track: np.ndarray) -> np.ndarray:
        """Road-frame poses (..., 3) ``x, y, yaw`` in the map frame.

        The axis ``y = 0`` becomes a circular arc through the origin
        (heading 0 there) of radius ``1 / curvature``; road-frame x is the
        arc length along it and y the offset to its left, so lanes and
        curbs stay parallel to the axis.
        """
        track = np.asarray(track, dtype=np.float64)
        k = self.curvature
        if k == 0:
            return track
        x, y, yaw = track[..., 0], track[..., 1], track[..., 2]
        theta = k * x
        sin, cos = np.sin(theta), np.cos(theta)
        return np.stack(
            [sin / k - y * sin, (1 - cos) / k + y * cos, yaw + theta], -1)

    def to_road(self, xy: np.ndarray) -> np.ndarray:
        """Map-frame points (..., 2) in the road frame (inverse of
        :meth:`to_map`, within half a turn of the origin)."""
        k = self.curvature
        if k == 0:
            return xy
        sign = np.sign(k)
        vx, vy = xy[..., 0], xy[..., 1] - 1 / k
        theta = np.arctan2(sign * vx, -sign * vy)
        return np.stack([theta / k, 1 / k - sign * np.hypot(vx, vy)], -1)

    def stretch(self, y) -> np.ndarray:
        """Map metres per road-frame metre along x at lateral offset y."""
        return 1 - self.curvature * np.asarray(y, dtype=np.float64)

    def chord_sag(self, side: int, length: float, y: float) -> float:
        """How far the ends of a straight edge of ``length``, tangent to the
        curve at lateral offset ``y`` on ``side``, come closer to the road
        than its middle (0 on a straight road and on the curve's outside).
        """
        if self.curvature * side <= 0:
            return 0.0
        radius = 1 / abs(self.curvature) - abs(y)
        return (length / 2)**2 / (2 * radius)

    @property
    def curb(self) -> float:
        """Distance from the main road's axis to the outer sidewalk edge."""
        return self.road_half + self.sidewalk

    def lane_y(self, direction: int, lane: int = 0) -> float:
        """y of a main-road lane centre; lane 0 is the outer one.

        Args:
            direction (int): +1 for traffic along +x, -1 along -x.
            lane (int): 0 (outer, by the parking strip) .. lanes - 1.
        """
        offset = self.median + (self.lanes - lane - 0.5) * LANE_WIDTH
        return -direction * offset

    def _distances(self, xy: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Distances to the main road's and the side road's axes."""
        d_main = np.abs(xy[..., 1])
        d_cross = (
            np.abs(xy[..., 0] - self.cross_x)
            if self.cross_x is not None else np.full_like(d_main, np.inf))
        return d_main, d_cross

    def in_lot(self, xy: np.ndarray) -> np.ndarray:
        """Whether road-frame ground points (..., 2) lie in the parking lot.
        """
        if self.lot is None:
            return np.zeros(xy.shape[:-1], dtype=bool)
        x0, x1, side, depth = self.lot
        across = side * xy[..., 1] - self.curb
        return ((xy[..., 0] >= x0) & (xy[..., 0] <= x1) & (across >= 0)
                & (across <= depth))

    def ground_labels(self, xy: np.ndarray) -> np.ndarray:
        """Lidarseg id of map-frame ground points (..., 2)."""
        xy = self.to_road(xy)
        d_main, d_cross = self._distances(xy)
        d = np.minimum(d_main, d_cross)
        label = np.where(d < self.road_half, ROAD,
                         np.where(d < self.curb, SIDEWALK,
                                  TERRAIN)).astype(np.int64)
        median = (d_main < self.median) & (d_cross > self.road_half)
        label = np.where(median, OTHER_FLAT, label)
        return np.where(self.in_lot(xy), ROAD, label)

    def lane_marking(self, xy: np.ndarray) -> np.ndarray:
        """Whether map-frame ground points (..., 2) lie on road markings.

        Dashed lines between lanes, a dashed centre line without a median,
        solid lines at the parking strips; none on the crossing.
        """
        xy = self.to_road(xy)
        d_main, d_cross = self._distances(xy)
        along_main = np.mod(xy[..., 0], 6.0) < 3.0
        along_cross = np.mod(xy[..., 1], 6.0) < 3.0
        edge = self.median + self.lanes * LANE_WIDTH
        main = np.abs(d_main - edge) < 0.06
        if self.median == 0:
            main |= (d_main < 0.075) & along_main
        if self.lanes == 2:
            main |= (np.abs(d_main - self.median - LANE_WIDTH)
                     < 0.06) & along_main
        main &= d_cross > self.road_half
        cross = (d_main > self.road_half) & (d_cross < 0.075) & along_cross
        return main | cross

    def in_crossing_corridor(self, x, margin: float):
        """Whether x is within ``margin`` of the side road's sidewalks."""
        if self.cross_x is None:
            return np.zeros(np.shape(x), dtype=bool)
        return np.abs(np.asarray(x) - self.cross_x) < self.curb + margin

    def in_lot_range(self, x, margin: float, side: int) -> bool:
        """Whether x is within ``margin`` of the lot on ``side``."""
        return (self.lot is not None and self.lot[2] == side
                and self.lot[0] - margin < x < self.lot[1] + margin)


def turn_path(start,
              yaw0: float,
              s: np.ndarray,
              s_turn: float = NO_TURN,
              radius: float = 8.0,
              angle: float = 0.0) -> np.ndarray:
    """Poses (T, 3) ``x, y, yaw`` along a straight-arc-straight path.

    Args:
        start (tuple): Position at arc length 0.
        yaw0 (float): Heading before the turn.
        s (np.ndarray): (T,) arc lengths travelled at the keyframes.
        s_turn (float): Arc length where the turn starts.
        radius (float): Turn radius.
        angle (float): Turn angle (+: left, -: right).
    """
    s = np.asarray(s, dtype=np.float64)
    # Stay where float64 keeps centimetres (a turn that never comes).
    s_turn = min(s_turn, 1e5)
    d0 = np.array([np.cos(yaw0), np.sin(yaw0)])
    left = np.array([-d0[1], d0[0]])
    sign = np.sign(angle) if angle else 1.0
    arc = radius * abs(angle)
    turned = sign * np.clip(s - s_turn, 0, arc) / radius
    after = np.maximum(s - s_turn - arc, 0)
    corner = np.asarray(start, float) + s_turn * d0
    centre = corner + sign * radius * left
    c, sn = np.cos(turned), np.sin(turned)
    rel = corner - centre
    on_arc = centre + np.stack(
        [c * rel[0] - sn * rel[1], sn * rel[0] + c * rel[1]], -1)
    yaw = yaw0 + turned
    xy = (
        on_arc +
        after[:, None] * np.stack([np.cos(yaw), np.sin(yaw)], -1) +
        (np.minimum(s, s_turn) - s_turn)[:, None] * d0)
    return np.concatenate([xy, yaw[:, None]], 1)


def speed_profile(rng: np.random.Generator, times: np.ndarray, kind: str,
                  v_max: float) -> np.ndarray:
    """Arc length (T,) travelled at each keyframe under a speed profile.

    Args:
        rng (np.random.Generator): Random generator.
        times (np.ndarray): (T,) keyframe times.
        kind (str): 'cruise' (steady, small speed changes), 'accelerate'
            (from a near stop), 'stop' (brake to a stop, wait, go again)
            or 'still'.
        v_max (float): Top speed, m/s.
    """
    dt = 0.05
    fine = np.arange(0, times[-1] + dt, dt)
    if kind == 'still':
        return np.zeros(len(times))
    if kind == 'cruise':
        v0 = rng.uniform(0.5, 1.0) * v_max
        accel = np.full(len(fine), rng.uniform(-0.5, 0.5))
    elif kind == 'accelerate':
        v0 = rng.uniform(0, 1.5)
        accel = np.full(len(fine), rng.uniform(1.0, 2.5))
    else:  # stop
        v0 = rng.uniform(0.6, 1.0) * v_max
        t_brake = rng.uniform(0, max(times[-1] - 3, 0.1))
        t_go = t_brake + v0 / 2.5 + rng.uniform(1, 3)
        accel = np.where(fine < t_brake, 0.0, np.where(fine < t_go, -2.5, 1.5))
    v = np.empty(len(fine))
    v[0] = v0
    for i in range(1, len(fine)):  # 200 steps at most: cheap
        v[i] = np.clip(v[i - 1] + accel[i - 1] * dt, 0, v_max)
    s = np.concatenate([[0], np.cumsum(0.5 * (v[1:] + v[:-1]) * dt)])
    return np.interp(times, fine, s)


@dataclass
class Scene:
    """One generated scene.

    Objects (index o) are what a 3D box annotates; parts (index p) are the
    boxes the sensors see. Part offsets are relative to the object's bottom
    centre, in the object frame (x along its length).

    Attributes:
        layout (Layout): Ground layout.
        times (np.ndarray): (T,) keyframe times in seconds from the start.
        ego_track (np.ndarray): (T, 3) ego ``x, y, yaw`` per keyframe.
        map2global (np.ndarray): 4x4 pose of the map in the global frame.
        look (SceneLook): Sun, sky and ground materials of the scene.
        obj_kind (list[str]): Kind of each object ('car', 'tree', ...).
        obj_label (np.ndarray): (O,) lidarseg id.
        obj_size (np.ndarray): (O, 3) box length, width, height.
        obj_track (np.ndarray): (O, T, 3) bottom centre x, y and heading
            per keyframe, map frame.
        part_obj (np.ndarray): (P,) object of each part.
        part_offset (np.ndarray): (P, 3) part centre in the object frame.
        part_half (np.ndarray): (P, 3) half extents.
        part_texture (np.ndarray): (P,) texture code (``TEX_*``).
        part_colour (np.ndarray): (P, 3) base RGB (0-255) of each part.
    """
    layout: Layout
    times: np.ndarray
    ego_track: np.ndarray
    map2global: np.ndarray
    look: SceneLook
    obj_kind: List[str]
    obj_label: np.ndarray
    obj_size: np.ndarray
    obj_track: np.ndarray
    part_obj: np.ndarray
    part_offset: np.ndarray
    part_half: np.ndarray
    part_texture: np.ndarray
    part_colour: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.times)

    def ego2map(self, frame: int) -> np.ndarray:
        """4x4 ego pose in the map frame at keyframe ``frame``."""
        x, y, yaw = self.ego_track[frame]
        return make_pose(rotation_zyx(float(yaw)), [x, y, 0.0])

    def object_xy(self, frame: int) -> np.ndarray:
        """(O, 2) bottom centres at keyframe ``frame``."""
        return self.obj_track[:, frame, :2]

    def object_yaw(self, frame: int) -> np.ndarray:
        """(O,) headings at keyframe ``frame`` (map frame)."""
        return self.obj_track[:, frame, 2]

    def object_velocity(self, frame: int) -> np.ndarray:
        """(O, 2) velocities at keyframe ``frame``, map frame.

        The displacement to the next keyframe over the time step (to the
        previous one at the last keyframe), as nuScenes derives its box
        velocities from neighbouring annotations.
        """
        if self.num_frames < 2:
            return np.zeros((len(self.obj_track), 2))
        a, b = (frame,
                frame + 1) if frame + 1 < self.num_frames else (frame - 1,
                                                                frame)
        return (self.obj_track[:, b, :2] - self.obj_track[:, a, :2]) / (
            self.times[b] - self.times[a])

    def part_boxes(self, frame: int):
        """Oriented boxes of all parts at keyframe ``frame``.

        Returns:
            tuple: centres (P, 3), half extents (P, 3), yaws (P,).
        """
        yaw = self.object_yaw(frame)[self.part_obj]
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

    Things near the traffic (ego, vehicles, pedestrians, poles, trunks,
    hedges, barriers) are collision-checked at every keyframe with
    footprints of a few circles along their length (one circle round a
    car would keep it off the lane beside a parked car or the ego);
    buildings are laid out so that they cannot collide. Tracks come in
    the road frame and are kept (and checked) in the map frame, where a
    curve brings objects on its inside closer together.

    Args:
        times (np.ndarray): (T,) keyframe times.
        layout (Layout): The scene's layout (bends the tracks).
    """

    def __init__(self, times: np.ndarray, layout: Layout):
        self.times = times
        self.layout = layout
        self.objects = []
        self.parts = []
        self._circles = np.zeros((0, len(times), 2))
        self._radii = np.zeros(0)

    @staticmethod
    def footprint(track: np.ndarray, length: float, width: float):
        """Circles covering a length x width box along a map-frame track.

        Returns:
            tuple: centres (C, T, 2) and radius (float): C circles, each
            round one of C equal sections of the box.
        """
        num = max(1, int(np.ceil(length / width - 1e-9)))
        offsets = (np.arange(num) + 0.5) * length / num - length / 2
        heading = np.stack([np.cos(track[:, 2]), np.sin(track[:, 2])], -1)
        centres = track[None, :, :2] + offsets[:, None, None] * heading
        return centres, 0.5 * float(np.hypot(length / num, width))

    def reserve(self, track: np.ndarray, length: float, width: float) -> None:
        """Keep a road-frame (T, 3) track of a box free (the ego's path)."""
        self._keep(*self.footprint(self.layout.to_map(track), length, width))

    def _keep(self, centres: np.ndarray, radius: float) -> None:
        self._circles = np.concatenate([self._circles, centres])
        self._radii = np.append(self._radii, np.full(len(centres), radius))

    def is_free(self, centres: np.ndarray, radius: float) -> bool:
        """Whether circles (C, T, 2) keep clear of the kept ones."""
        gap = np.linalg.norm(
            self._circles[:, None] - centres[None], axis=-1)  # (K, C, T)
        return not np.any(gap < self._radii[:, None, None] + radius)

    def static(self, xy, yaw: float) -> np.ndarray:
        """(T, 3) track of an object that does not move."""
        return np.tile([xy[0], xy[1], yaw], (len(self.times), 1))

    def add(self,
            kind: str,
            label: int,
            track: np.ndarray,
            size,
            parts: List[tuple],
            check: bool = True,
            radius: Optional[float] = None) -> bool:
        """Add an object unless its footprint would hit another one.

        Args:
            kind (str): Object kind.
            label (int): Lidarseg id.
            track (np.ndarray): (T, 3) bottom centre and heading per
                keyframe, road frame (see :meth:`static` and
                :func:`turn_path`).
            size (tuple): Box length, width, height.
            parts (list[tuple]): (offset (3,), size (3,), texture, rgb).
            check (bool): Collision-check and reserve the footprint.
            radius (float, optional): One footprint circle of this radius
                (a tree's trunk); by default :meth:`footprint`'s.

        Returns:
            bool: Whether the object was added.
        """
        track = self.layout.to_map(track)
        if check:
            if radius is None:
                centres, radius = self.footprint(track, size[0], size[1])
            else:
                centres = track[None, :, :2]
            if not self.is_free(centres, radius):
                return False
            self._keep(centres, radius)
        obj = len(self.objects)
        self.objects.append((kind, label, size, track))
        self.parts.extend((obj, *part) for part in parts)
        return True

    def build(self, ego_track, map2global, look) -> Scene:
        """The scene, with the road-frame ``ego_track`` bent into the map.
        """
        kind, label, size, track = zip(*self.objects)
        p_obj, p_off, p_size, p_tex, p_rgb = zip(*self.parts)
        return Scene(
            layout=self.layout,
            times=self.times,
            ego_track=self.layout.to_map(ego_track),
            map2global=map2global,
            look=look,
            obj_kind=list(kind),
            obj_label=np.array(label, dtype=np.int64),
            obj_size=np.array(size, dtype=np.float64),
            obj_track=np.array(track, dtype=np.float64),
            part_obj=np.array(p_obj, dtype=np.int64),
            part_offset=np.array(p_off, dtype=np.float64),
            part_half=np.array(p_size, dtype=np.float64) / 2,
            part_texture=np.array(p_tex, dtype=np.int64),
            part_colour=np.array(p_rgb, dtype=np.float64))


def _part(x, y, z0, length, width, height, texture, rgb):
    """A part from its bottom-centre offset, size, texture and colour."""
    return ((x, y, z0 + height / 2), (length, width, height), texture,
            tuple(rgb))


def _wheels(length, width, axles, rng, diameter=0.65, inset=0.17):
    tyre = (rng.uniform(18, 35), ) * 3
    xs = np.linspace(0.5 - inset, -(0.5 - inset), axles) * length
    return [
        _part(x, 0, 0, inset * length, 0.96 * width, diameter, TEX_TYRE, tyre)
        for x in xs
    ]


def car_parts(rng, length, width, height):
    """Body on wheels with a glass cabin, inside l x w x h."""
    paint, glass = pick_paint(rng), pick_metal(rng, glass=True)
    body_top = 0.58 * height
    return [
        _part(0, 0, 0.3, length, width, body_top - 0.3, TEX_BODY, paint),
        _part(-0.05 * length, 0, body_top, 0.55 * length, 0.9 * width,
              height - body_top, TEX_GLASS, glass),
    ] + _wheels(length, width, 2, rng, 0.6)


def truck_parts(rng, length, width, height):
    """Cab with windscreen in front of a cargo box, three axles."""
    cab_len = min(2.4, 0.3 * length)
    paint = pick_paint(rng)
    cargo = pick_paint(rng) if rng.uniform() < 0.6 else paint
    x_cab = length / 2 - cab_len / 2
    return [
        _part(x_cab, 0, 0.5, cab_len, width, 0.55 * height, TEX_BODY, paint),
        _part(x_cab + 0.1, 0, 0.5 + 0.55 * height, cab_len - 0.2, 0.95 * width,
              0.45 * height - 0.5, TEX_GLASS, pick_metal(rng, glass=True)),
        _part(-cab_len / 2 - 0.1, 0, 0.7, length - cab_len - 0.2, width,
              height - 0.7, TEX_BODY, cargo),
    ] + _wheels(
        length, width, 3, rng, 0.95, inset=0.12)


def bus_parts(rng, length, width, height):
    """Body, a band of windows and a roof, on two axles."""
    paint = pick_paint(rng)
    return [
        _part(0, 0, 0.35, length, width, 0.45 * height, TEX_BODY, paint),
        _part(0, 0, 0.35 + 0.45 * height, length, 0.98 * width, 0.4 * height,
              TEX_GLASS, pick_metal(rng, glass=True)),
        _part(0, 0, 0.35 + 0.85 * height, length, width, 0.15 * height - 0.35,
              TEX_BODY, paint),
    ] + _wheels(
        length, width, 2, rng, 1.0, inset=0.12)


def rider_parts(rng, x, seat, height):
    """Legs, torso and head of a rider sitting at ``seat`` height."""
    top, legs = pick_clothing(rng), pick_clothing(rng)
    return [
        _part(x, 0, seat - 0.45, 0.3, 0.4, 0.45, TEX_CLOTH, legs),
        _part(x - 0.05, 0, seat, 0.35, 0.45, 0.45 * height, TEX_CLOTH, top),
        _part(x - 0.05, 0, seat + 0.45 * height, 0.24, 0.22, 0.25, TEX_SKIN,
              pick_skin(rng) if rng.uniform() < 0.5 else pick_metal(rng)),
    ]


def cycle_parts(rng, length, height, motor: bool):
    """Two wheels, a frame (or a motorcycle's body) and a rider."""
    wheel = 0.7 if not motor else 0.62
    tyre = (rng.uniform(15, 30), ) * 3
    parts = [
        _part(x, 0, 0, wheel, 0.08 if not motor else 0.18, wheel, TEX_TYRE,
              tyre) for x in (length / 2 - wheel / 2, -length / 2 + wheel / 2)
    ]
    if motor:
        parts.append(
            _part(0, 0, 0.35, 0.6 * length, 0.45, 0.5, TEX_BODY,
                  pick_paint(rng)))
    else:
        parts.append(
            _part(0, 0, wheel / 2, 0.55 * length, 0.06, 0.35, TEX_BODY,
                  pick_paint(rng)))
    seat = 0.85 if not motor else 0.8
    return parts + rider_parts(rng, -0.1 * length, seat, height - seat)


def pedestrian_parts(rng, height):
    """Legs, torso and head, inside a 0.7 x 0.65 x height box."""
    return [
        _part(0, 0, 0, 0.28, 0.36, 0.47 * height, TEX_CLOTH,
              pick_clothing(rng)),
        _part(0, 0, 0.47 * height, 0.3, 0.5, 0.36 * height, TEX_CLOTH,
              pick_clothing(rng)),
        _part(0, 0, 0.85 * height, 0.22, 0.2, 0.15 * height, TEX_SKIN,
              pick_skin(rng)),
    ]


def _add_buildings_and_greenery(b, rng, layout, x_lo, x_hi, green):
    """Buildings behind the sidewalks, hedges, street trees and poles.

    Args:
        green (float): Vegetation density of the scene, 0-1.
    """
    curb = layout.curb
    for side in (-1, 1):
        x = x_lo + rng.uniform(0, 10)
        lot_margin = 3 if layout.lot is not None else 0
        while x < x_hi:
            width = rng.uniform(8, 25)
            gap = rng.uniform(1.5, 9)
            if (layout.in_crossing_corridor(x, 2)
                    or layout.in_crossing_corridor(x + width, 2)
                    or layout.in_lot_range(x, lot_margin, side)
                    or layout.in_lot_range(x + width, lot_margin, side)
                    or rng.uniform() < 0.12):  # an empty lot now and then
                x += width + gap
                continue
            depth, height = rng.uniform(8, 16), rng.uniform(5, 22)
            setback = rng.uniform(1.5, 8)
            # On a curve's inside the facade's ends come closer to the road
            # and neighbours' back corners closer together: set it back by
            # the sag and space it by its narrowest stretch of road frame.
            setback += layout.chord_sag(side, width, curb + setback)
            squeeze = float(
                min(
                    layout.stretch(side * (curb + setback)),
                    layout.stretch(side * (curb + setback + depth))))
            width_x, gap = width / squeeze, gap / squeeze
            cx = x + width_x / 2
            b.add(
                'building',
                MANMADE,
                b.static((cx, side * (curb + setback + depth / 2)), 0.0),
                (width, depth, height), [
                    _part(0, 0, 0, width, depth, height, TEX_FACADE,
                          pick_facade(rng))
                ],
                check=False)
            if setback > 3 and rng.uniform() < green:
                length, h = 0.6 * width, rng.uniform(0.7, 1.3)
                y = side * (curb + rng.uniform(0.8, setback - 0.8))
                b.add('hedge', VEGETATION, b.static((cx, y), 0.0),
                      (length, 1.0, h), [
                          _part(0, 0, 0, length, 1.0, h, TEX_FOLIAGE,
                                pick_foliage(rng))
                      ])
            x += width_x + gap

        # Street trees at the sidewalk's outer edge: trunk + crown. Their
        # crowns (<= 2 m from the trunk) stay clear of the buildings, which
        # are set back at least 1.5 m behind the sidewalk.
        x = x_lo + rng.uniform(0, 10)
        while x < x_hi:
            if (rng.uniform() < green
                    and not layout.in_crossing_corridor(x, 2)):
                crown, base = rng.uniform(2.5, 4), rng.uniform(2.3, 3)
                crown_h = rng.uniform(2.5, 4)
                b.add(
                    'tree',
                    VEGETATION,
                    b.static((x, side * (curb - 0.7)), 0.0),
                    (crown, crown, base + crown_h), [
                        _part(0, 0, 0, 0.35, 0.35, base + 0.3, TEX_BARK,
                              pick_bark(rng)),
                        _part(0, 0, base, crown, crown, crown_h, TEX_FOLIAGE,
                              pick_foliage(rng))
                    ],
                    radius=0.3)
            x += rng.uniform(8, 15)

        x = x_lo + rng.uniform(0, 15)
        while x < x_hi:
            h = rng.uniform(5, 8)
            if not layout.in_crossing_corridor(x, -layout.sidewalk):
                b.add('pole', MANMADE,
                      b.static((x, side * (layout.road_half + 0.4)), 0.0),
                      (0.25, 0.25, h), [
                          _part(0, 0, 0, 0.25, 0.25, h, TEX_PLAIN,
                                pick_metal(rng))
                      ])
            x += rng.uniform(15, 30)


# kind: lidarseg id, (length, width, height) ranges, parts builder.
VEHICLES = {
    'car': (CAR, ((3.9, 4.9), (1.7, 2.0), (1.45, 1.9)), car_parts),
    'truck': (TRUCK, ((6.0, 10.0), (2.3, 2.6), (2.8, 3.8)), truck_parts),
    'bus': (BUS, ((10.0, 12.5), (2.5, 2.6), (3.0, 3.4)), bus_parts),
}


def _add_vehicle(b, rng, kind, track) -> bool:
    label, ranges, parts = VEHICLES[kind]
    size = tuple(rng.uniform(lo, hi) for lo, hi in ranges)
    return b.add(kind, label, track, size, parts(rng, *size))


def _add_cycle(b, rng, track, motor: bool) -> bool:
    length = rng.uniform(1.6, 1.9) if not motor else rng.uniform(1.9, 2.3)
    height = rng.uniform(1.6, 1.9)
    return b.add('motorcycle' if motor else 'bicycle',
                 MOTORCYCLE if motor else BICYCLE, track,
                 (length, 0.7 if not motor else 0.85, height),
                 cycle_parts(rng, length, height, motor))


def _try(times: int, attempt) -> None:
    for _ in range(times):
        if attempt():
            return


def _add_traffic(b, rng, layout, ego_end, x_lo, x_hi, density):
    """Parked, moving and turning vehicles, cyclists, pedestrians, works.

    Args:
        ego_end (float): x the ego reaches (keeps traffic around it).
        density (float): Traffic density factor of the scene.
    """
    times = b.times
    strip = layout.road_half - 1.2  # parking strip centre line
    for side in (-1, 1):
        x = x_lo + rng.uniform(0, 6)
        while x < x_hi:
            if (rng.uniform() < 0.3 * density
                    and not layout.in_crossing_corridor(x, 3)):
                # Parked in the driving direction of the nearer lane.
                yaw = (0.0 if side < 0 else np.pi) + rng.normal(0, 0.03)
                kind = rng.choice(['car', 'car', 'car', 'car', 'truck'])
                _add_vehicle(b, rng, kind, b.static((x, side * strip), yaw))
            x += rng.uniform(5.5, 12)

    def lane_vehicle(direction, lane, kind, profile, v_max):
        yaw = 0.0 if direction > 0 else np.pi
        s = speed_profile(rng, times, profile, v_max)
        y0 = layout.lane_y(direction, lane) + rng.normal(0, 0.1)
        track = turn_path((rng.uniform(x_lo, x_hi), y0), yaw, s)
        if kind in VEHICLES:
            return _add_vehicle(b, rng, kind, track)
        return _add_cycle(b, rng, track, kind == 'motorcycle')

    # Through traffic at its own speeds: cars ahead and behind the ego in
    # its direction (overtaking it on two-lane roads), oncoming traffic,
    # some of it braking to a stop or pulling away.
    kinds = ['car'] * 10 + ['truck', 'truck', 'bus', 'motorcycle']
    for direction in (1, -1):
        for _ in range(rng.poisson(9 * density)):
            kind = str(rng.choice(kinds))
            profile = str(rng.choice(['cruise'] * 3 + ['accelerate', 'stop']))
            lane = int(rng.integers(0, layout.lanes))
            _try(
                10, lambda: lane_vehicle(direction, lane, kind, profile,
                                         rng.uniform(6, 14)))
    # Cyclists ride at the lane's outer edge, both ways.
    for _ in range(rng.poisson(3 * density)):
        direction = int(rng.choice([-1, 1]))
        edge = layout.median + layout.lanes * LANE_WIDTH - 0.7

        def cyclist():
            yaw = 0.0 if direction > 0 else np.pi
            s = speed_profile(rng, times, 'cruise', rng.uniform(3, 7))
            track = turn_path((rng.uniform(x_lo, x_hi), -direction * edge),
                              yaw, s)
            return _add_cycle(b, rng, track, False)

        _try(10, cyclist)
    # Vehicles turning at the intersection (speeds of a turn, <= 5 m/s),
    # from the main road into the side road and back.
    if layout.cross_x is not None:
        cx = layout.cross_x
        for _ in range(rng.poisson(3 * density)):

            def turner():
                kind = str(rng.choice(['car'] * 6 + ['truck', 'bicycle']))
                direction = int(rng.choice([-1, 1]))
                right = rng.uniform() < 0.5
                s = speed_profile(rng, times, 'cruise', rng.uniform(3, 5))
                s_turn = rng.uniform(-5, s[-1] + 5)
                y_lane = layout.lane_y(direction, 0)
                if right:  # into the side road's near lane
                    radius = abs(y_lane) + rng.uniform(2.5, 4.5)
                    x_end = cx - direction * LANE_WIDTH / 2
                    angle = -np.pi / 2
                else:  # across the oncoming lanes, into the far lane
                    x_end = cx + direction * LANE_WIDTH / 2
                    radius = abs(y_lane) + LANE_WIDTH / 2 + 1.0
                    angle = np.pi / 2
                x_corner = x_end - direction * radius
                x0 = x_corner - direction * s_turn
                yaw = 0.0 if direction > 0 else np.pi
                track = turn_path((x0, y_lane), yaw, s, s_turn, radius, angle)
                if kind == 'bicycle':
                    return _add_cycle(b, rng, track, False)
                return _add_vehicle(b, rng, kind, track)

            _try(10, turner)
        for _ in range(rng.poisson(1.5 * density)):

            def side_road():
                side = int(rng.choice([-1, 1]))
                s = speed_profile(rng, times,
                                  str(rng.choice(['cruise', 'stop'])),
                                  rng.uniform(4, 9))
                track = turn_path(
                    (cx + side * LANE_WIDTH / 2, rng.uniform(-60, 60)),
                    side * np.pi / 2, s)  # right-hand traffic
                return _add_vehicle(b, rng, 'car', track)

            _try(10, side_road)

    # Road works: a row of barriers with cones on one parking strip.
    if rng.uniform() < 0.5:
        side = int(rng.choice([-1, 1]))
        x = rng.uniform(x_lo + 30, x_hi - 30)
        barrier_rgb = pick_barrier(rng)
        for i in range(int(rng.integers(3, 8))):
            length = rng.uniform(1.5, 2.5)
            h = rng.uniform(0.8, 1.1)
            xy = (x + i * (length + 0.1), side * (layout.road_half - 0.8))
            b.add('barrier', BARRIER, b.static(xy, rng.normal(0, 0.03)),
                  (length, 0.5, h),
                  [_part(0, 0, 0, length, 0.5, h, TEX_PLAIN, barrier_rgb)])
        cone_rgb = pick_cone(rng)
        for i in range(int(rng.integers(3, 9))):
            xy = (x - 3 - i * rng.uniform(2, 4),
                  side * (layout.road_half - 2.0 - 0.3 * i))
            b.add(
                'traffic_cone',
                TRAFFIC_CONE,
                b.static(xy, 0.0), (0.4, 0.4, 0.7), [
                    _part(0, 0, 0, 0.4, 0.4, 0.08, TEX_PLAIN, (30, 30, 30)),
                    _part(0, 0, 0.08, 0.28, 0.28, 0.3, TEX_PLAIN, cone_rgb),
                    _part(0, 0, 0.38, 0.16, 0.16, 0.32, TEX_PLAIN, cone_rgb)
                ],
                radius=0.3)

    # Parking lot: rows of cars parked across the lot.
    if layout.lot is not None:
        x0, x1, side, depth = layout.lot
        for row in range(int(depth // 6)):
            y = side * (layout.curb + 3 + row * 6)
            x = x0 + 1.5
            while x < x1 - 1.5:
                if rng.uniform() < 0.5:
                    yaw = side * np.pi / 2 + rng.normal(0, 0.05)
                    _add_vehicle(b, rng, 'car', b.static((x, y), yaw))
                x += rng.uniform(2.6, 3.2)

    # Pedestrians walk along the sidewalks, stand, or cross the road; those
    # crossing walk slowly enough to stay between the two curbs' sidewalks
    # however long the scene is (buildings are not collision-checked).
    curb = layout.curb
    max_crossing_speed = (2 * curb - 2) / max(times[-1], 1e-9)
    for _ in range(rng.poisson(14 * density)):

        def pedestrian():
            side = rng.choice([-1, 1])
            height = rng.uniform(1.55, 1.9)
            if rng.uniform() < 0.25:
                if layout.cross_x is not None and rng.uniform() < 0.6:
                    x = layout.cross_x + rng.choice([-1, 1]) * (
                        layout.road_half + rng.uniform(0.5, 2))
                else:
                    x = rng.uniform(x_lo, x_hi)
                xy = (x, side * (curb - 1))
                yaw = -side * np.pi / 2 + rng.normal(0, 0.1)
                speed = min(rng.uniform(1.0, 1.6), max_crossing_speed)
            else:
                xy = (rng.uniform(x_lo, x_hi),
                      side * rng.uniform(layout.road_half + 0.5, curb - 0.4))
                moving = rng.uniform() < 0.8
                yaw = (
                    rng.choice([0, np.pi]) + rng.normal(0, 0.05)
                    if moving else rng.uniform(-np.pi, np.pi))
                speed = rng.uniform(0.8, 1.7) if moving else 0.0
            track = turn_path(xy, yaw, speed * times)
            return b.add('pedestrian', PEDESTRIAN, track, (0.7, 0.65, height),
                         pedestrian_parts(rng, height))

        _try(10, pedestrian)


def _ego_track(rng, layout, times) -> np.ndarray:
    """Ego poses: cruising, accelerating or stopping; turning right at the
    intersection in some scenes."""
    profile = str(rng.choice(['cruise', 'cruise', 'accelerate', 'stop']))
    y = layout.lane_y(1, 0)
    if layout.cross_x is not None and rng.uniform() < 0.4:
        s = speed_profile(rng, times, 'cruise', rng.uniform(3.5, 5))
        radius = abs(y) + rng.uniform(2.5, 4.0)
        x_corner = layout.cross_x - LANE_WIDTH / 2 - radius
        s_turn = rng.uniform(0, max(s[-1] - 4, 0.5))
        return turn_path((x_corner - s_turn, y), 0.0, s, s_turn, radius,
                         -np.pi / 2)
    s = speed_profile(rng, times, profile, rng.uniform(6, 11))
    return turn_path((0.0, y), 0.0, s)


def generate_scene(rng: np.random.Generator, num_frames: int) -> Scene:
    """Draw one scene: layout, look, ego path, static and moving objects.

    Args:
        rng (np.random.Generator): The scene's random generator.
        num_frames (int): Number of keyframes, ``TIME_STEP`` apart.

    Returns:
        Scene: The scene, deterministic for the generator's state.
    """
    times = np.arange(num_frames) * TIME_STEP
    lanes = 2 if rng.uniform() < 0.35 else 1
    median = rng.uniform(0.6, 1.5) if rng.uniform() < 0.35 else 0.0
    road_half = median + lanes * LANE_WIDTH + rng.uniform(2.3, 3.0)
    sidewalk = rng.uniform(2.5, 4.0)
    street = rng.choice(list(STREETS), p=list(STREETS.values()))
    cross_x = rng.uniform(10, 40) if street == 'intersection' else None
    curvature = 0.0
    if street == 'curve':
        curvature = rng.choice([-1, 1]) / rng.uniform(*CURVE_RADIUS)
    lot = None
    if rng.uniform() < 0.35:
        x0 = rng.uniform(-40, 30)
        if cross_x is not None and x0 < cross_x + 30 and x0 + 30 > cross_x:
            x0 = cross_x + road_half + sidewalk + 5
        lot = (x0, x0 + rng.uniform(20, 40), int(rng.choice([-1, 1])),
               rng.uniform(12, 20))
    layout = Layout(road_half, sidewalk, cross_x, lanes, median, lot,
                    curvature)
    density, green = rng.uniform(0.5, 1.5), rng.uniform(0.2, 0.9)
    look = draw_look(rng)
    yaw = rng.uniform(-np.pi, np.pi)
    map2global = make_pose(
        rotation_zyx(yaw), [*rng.uniform(300, 2500, 2), 0.0])

    builder = _SceneBuilder(times, layout)
    ego_track = _ego_track(rng, layout, times)
    builder.reserve(ego_track, *EGO_CLEARANCE)
    end = float(ego_track[-1, 0])
    _add_buildings_and_greenery(builder, rng, layout, -100, end + 100, green)
    _add_traffic(builder, rng, layout, end, -60, end + 60, density)
    return builder.build(ego_track, map2global, look)


def scene_summary(scene: Scene) -> Dict[str, float]:
    """Numbers describing a scene's layout, for logs and statistics."""
    return dict(
        objects=len(scene.obj_label),
        intersection=float(scene.layout.cross_x is not None),
        curve=float(scene.layout.curvature != 0),
        parking_lot=float(scene.layout.lot is not None))
