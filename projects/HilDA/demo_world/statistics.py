# Copyright (c) HilDA authors. All rights reserved.
"""Statistics of a generated demo set, printed by the generator.

Collected frame by frame while writing: points per scan, class
frequencies, the share of moving agents (annotated vehicles, cyclists and
pedestrians with LiDAR points, faster than ``MOVING_SPEED``; also per
group and over all boxes with points, barriers and cones included, the
ways one can count it on real nuScenes) and of moving points (scene flow
above ``MOVING_FLOW`` per keyframe step), and how much of the t+1
occupancy the t0 occupancy explains once ground is removed (HilDA's
temporal target: BEV cells of ``OCC_CELL`` metres and ``OCC_BINS`` height
bins over ``OCC_RANGE``, as the demo pre-training config).
"""
from collections import Counter
from typing import Dict, List, Sequence

import mmengine
import numpy as np

from projects.HilDA.hilda.datasets.info_format import LOAD_ERRORS, read_error
from projects.HilDA.hilda.datasets.transforms.occupancy import bev_occupancy
from .classes import DETECTION_CLASSES, GROUND_IDS, LIDARSEG_NAMES, NOISE
from .poses import invert_pose, transform_points

MOVING_SPEED = 0.2  # m/s; as annotations.MOVING_SPEED
MOVING_FLOW = 0.1  # metres per 0.5 s step
OCC_RANGE = (-32.0, -32.0, -3.0, 32.0, 32.0, 5.0)
OCC_CELL = 0.8
OCC_BINS = 8
# Agents by nuScenes detection class; barriers and traffic cones are boxes
# but never move.
AGENT_GROUPS = dict(
    vehicles=('car', 'truck', 'bus', 'trailer', 'construction_vehicle'),
    cyclists=('bicycle', 'motorcycle'),
    pedestrians=('pedestrian', ))


class DemoStatistics:
    """Accumulates the statistics over the frames of a data set."""

    def __init__(self):
        self.points = []
        self.classes = Counter()
        self.agents = self.moving_agents = 0
        self.boxes = 0  # boxes with points, barriers and cones included
        self.group_agents, self.group_moving = Counter(), Counter()
        self.flow_points = self.moving_points = 0
        self.occ_next = self.occ_explained = self.occ_new_moving = 0
        self.scenes = Counter()

    def merge(self, other: 'DemoStatistics') -> None:
        """Add another accumulator's counts (e.g. of another process)."""
        self.points.extend(other.points)
        self.classes.update(other.classes)
        self.scenes.update(other.scenes)
        self.group_agents.update(other.group_agents)
        self.group_moving.update(other.group_moving)
        for key in ('agents', 'moving_agents', 'boxes', 'flow_points',
                    'moving_points', 'occ_next', 'occ_explained',
                    'occ_new_moving'):
            setattr(self, key, getattr(self, key) + getattr(other, key))

    def add_scene(self, summary: Dict[str, float]) -> None:
        """Count the scene's layout features (see ``scene_summary``)."""
        for key, value in summary.items():
            self.scenes[key] += value
        self.scenes['scenes'] += 1

    def add_frame(self, labels: np.ndarray, instances, gt: Dict) -> None:
        """Count one keyframe.

        Args:
            labels (np.ndarray): (N,) lidarseg ids.
            instances (list[dict]): The frame's annotated boxes (with the
                private ``_lidarseg`` and ``_moving`` keys).
            gt (dict): The frame's ground truth (``ground_truth.py``).
        """
        self.points.append(len(labels))
        self.classes.update(labels.tolist())
        self.add_boxes(instances, DETECTION_CLASSES)
        if gt['has_next']:
            speed = np.linalg.norm(gt['flow'], axis=1)
            self.flow_points += len(speed)
            self.moving_points += int(np.sum(speed > MOVING_FLOW))

    def add_boxes(self, instances: List[Dict],
                  class_names: Sequence[str]) -> None:
        """Count a keyframe's boxes with LiDAR points as moving or not.

        Only the info format's own keys are read, so real nuScenes infos
        count the same way (see :func:`info_box_statistics`).

        Args:
            instances (list[dict]): mmdet3d ``instances`` (``bbox_label_3d``,
                ``velocity``, ``num_lidar_pts``).
            class_names (Sequence[str]): Detection class of each label;
                other labels (nuScenes' ignored -1) are not counted.
        """
        for inst in instances:
            label = int(inst['bbox_label_3d'])
            if not inst['num_lidar_pts'] or not 0 <= label < len(class_names):
                continue
            self.boxes += 1
            group = next((name for name, classes in AGENT_GROUPS.items()
                          if class_names[label] in classes), None)
            if group is None:
                continue
            # nuScenes leaves some velocities NaN (unknown): still here.
            moving = bool(np.hypot(*inst['velocity'][:2]) > MOVING_SPEED)
            self.agents += 1
            self.moving_agents += moving
            self.group_agents[group] += 1
            self.group_moving[group] += moving

    def add_pair(self, sweep: Dict, pose: np.ndarray, labels: np.ndarray,
                 next_sweep: Dict, next_pose: np.ndarray,
                 next_labels: np.ndarray, next_moving: np.ndarray) -> None:
        """Occupancy of t+1 explained by t0, ground removed.

        Args:
            sweep, next_sweep (dict): :func:`lidar.scan` of t0 and t+1.
            pose, next_pose (np.ndarray): 4x4 lidar2map of t0 and t+1.
            labels, next_labels (np.ndarray): lidarseg ids of both scans.
            next_moving (np.ndarray): (N1,) bool, t+1 points on objects
                that move.
        """

        def occupancy(points):
            return bev_occupancy(points, OCC_RANGE, OCC_CELL, OCC_BINS) > 0

        solid = ~np.isin(labels, GROUND_IDS + (NOISE, ))
        next_solid = ~np.isin(next_labels, GROUND_IDS + (NOISE, ))
        occ0 = occupancy(sweep['points'][solid, :3])
        moved = transform_points(
            invert_pose(pose) @ next_pose,
            next_sweep['points'][:, :3].astype(np.float64))
        occ1 = occupancy(moved[next_solid])
        occ1_moving = occupancy(moved[next_solid & next_moving])
        self.occ_next += int(occ1.sum())
        self.occ_explained += int((occ1 & occ0).sum())
        self.occ_new_moving += int((occ1 & ~occ0 & occ1_moving).sum())

    def summary(self) -> Dict[str, float]:
        """The statistics as numbers (shares in [0, 1])."""
        total = max(sum(self.classes.values()), 1)
        points = np.asarray(self.points) if self.points else np.zeros(1)
        new = max(self.occ_next - self.occ_explained, 1)
        return dict(
            frames=len(self.points),
            points_mean=float(points.mean()),
            points_min=int(points.min()),
            points_max=int(points.max()),
            class_share={
                LIDARSEG_NAMES[k]: v / total
                for k, v in sorted(self.classes.items())
            },
            agents=self.agents,
            moving_agent_share=self.moving_agents / max(self.agents, 1),
            moving_share_by_group={
                group:
                (self.group_moving[group] / max(self.group_agents[group], 1),
                 self.group_agents[group])
                for group in AGENT_GROUPS
            },
            boxes=self.boxes,
            moving_box_share=self.moving_agents / max(self.boxes, 1),
            moving_point_share=self.moving_points / max(self.flow_points, 1),
            occupancy_explained=self.occ_explained / max(self.occ_next, 1),
            new_cells_moving_share=self.occ_new_moving / new,
            scenes=dict(self.scenes))

    def format_moving(self) -> str:
        """One line: the moving shares of agents, per group, of boxes."""
        s = self.summary()
        groups = ', '.join(
            f'{group} {100 * share:.1f} % of {count}'
            for group, (share, count) in s['moving_share_by_group'].items())
        return (f'moving agents: {100 * s["moving_agent_share"]:.1f} % of '
                f'{s["agents"]} annotated vehicles, cyclists and pedestrians '
                f'with points ({groups}); {100 * s["moving_box_share"]:.1f} % '
                f'of all {s["boxes"]} boxes with points')

    def format(self) -> str:
        """A few human-readable lines of :meth:`summary`."""
        s = self.summary()
        classes = ', '.join(
            f'{name} {100 * share:.1f}' for name, share in sorted(
                s['class_share'].items(), key=lambda item: -item[1]))
        scenes = s['scenes']
        return '\n'.join([
            f'frames: {s["frames"]}; points per scan: mean '
            f'{s["points_mean"]:.0f}, min {s["points_min"]}, max '
            f'{s["points_max"]}',
            f'class share of points (%): {classes}',
            self.format_moving(),
            f'moving points (flow > {MOVING_FLOW} m per step): '
            f'{100 * s["moving_point_share"]:.2f} %',
            f't+1 occupancy (ground removed, {OCC_CELL} m cells) explained '
            f'by t0: {100 * s["occupancy_explained"]:.1f} %; of the new '
            f'cells {100 * s["new_cells_moving_share"]:.1f} % hold moving '
            'objects',
            'scenes: ' + ', '.join(f'{k} {v:g}' for k, v in scenes.items()),
        ])


def info_box_statistics(path: str) -> DemoStatistics:
    """Moving shares of the boxes in an mmdet3d info file (e.g. real
    nuScenes), counted as the demo's (only :meth:`~DemoStatistics.add_boxes`
    is filled).

    Raises:
        FileNotFoundError: No such file.
        InfoFileError: The file is corrupt or has no ``metainfo``
            categories (the message names it).
    """
    try:
        infos = mmengine.load(path)
        categories = infos['metainfo']['categories']
        data_list = infos['data_list']
    except (KeyError, *LOAD_ERRORS) as e:
        raise read_error(path, e) from e
    names = [''] * (max(categories.values(), default=-1) + 1)
    for name, label in categories.items():
        names[label] = name
    stats = DemoStatistics()
    for info in data_list:
        stats.add_boxes(info.get('instances', []), names)
    return stats
