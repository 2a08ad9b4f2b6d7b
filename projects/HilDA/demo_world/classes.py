# Copyright (c) HilDA authors. All rights reserved.
"""Classes of the demo world: nuScenes ids and LiDAR reflectivity.

Semantic labels are raw nuScenes lidarseg ids (the 32-class index of
``lidarseg.json``), so the same label mapping reads the demo set and real
nuScenes. Boxes use the 10 nuScenes detection classes of mmdet3d. As in
nuScenes, a cyclist's or motorcyclist's rider is part of the vehicle's box
and carries its label.

Colours in the images are not a property of the class:
``materials.py`` draws them per object and per scene; ``PALETTE`` only
colours label pictures.
"""
import numpy as np
from mmdet3d.datasets.convert_utils import nus_categories

# Raw nuScenes lidarseg ids of the classes the world contains.
NOISE = 0
PEDESTRIAN = 2
BARRIER = 9
TRAFFIC_CONE = 12
BICYCLE = 14
BUS = 16
CAR = 17
MOTORCYCLE = 21
TRUCK = 23
ROAD = 24
OTHER_FLAT = 25
SIDEWALK = 26
TERRAIN = 27
MANMADE = 28
VEGETATION = 30

LIDARSEG_NAMES = {
    NOISE: 'noise',
    PEDESTRIAN: 'human.pedestrian.adult',
    BARRIER: 'movable_object.barrier',
    TRAFFIC_CONE: 'movable_object.trafficcone',
    BICYCLE: 'vehicle.bicycle',
    BUS: 'vehicle.bus.rigid',
    CAR: 'vehicle.car',
    MOTORCYCLE: 'vehicle.motorcycle',
    TRUCK: 'vehicle.truck',
    ROAD: 'flat.driveable_surface',
    OTHER_FLAT: 'flat.other',
    SIDEWALK: 'flat.sidewalk',
    TERRAIN: 'flat.terrain',
    MANMADE: 'static.manmade',
    VEGETATION: 'static.vegetation',
}
GROUND_IDS = (ROAD, OTHER_FLAT, SIDEWALK, TERRAIN)

# mmdet3d's nuScenes detection classes (the labels of real infos).
DETECTION_CLASSES = tuple(nus_categories)
# Detection class of each lidarseg class that carries a 3D box.
_DETECTION_NAMES = {
    CAR: 'car',
    TRUCK: 'truck',
    BUS: 'bus',
    BICYCLE: 'bicycle',
    MOTORCYCLE: 'motorcycle',
    PEDESTRIAN: 'pedestrian',
    BARRIER: 'barrier',
    TRAFFIC_CONE: 'traffic_cone',
}
DETECTION_LABELS = {
    seg: DETECTION_CLASSES.index(name)
    for seg, name in _DETECTION_NAMES.items()
}
# nuScenes attribute ids (mmdet3d order: cycle.with_rider,
# cycle.without_rider, pedestrian.moving, pedestrian.standing,
# pedestrian.sitting_lying_down, vehicle.moving, vehicle.parked,
# vehicle.stopped, None) for (moving, not moving) objects.
ATTRIBUTE_LABELS = {
    CAR: (5, 6),
    TRUCK: (5, 6),
    BUS: (5, 7),
    BICYCLE: (0, 0),  # always ridden here
    MOTORCYCLE: (0, 0),
    PEDESTRIAN: (2, 3),
    BARRIER: (8, 8),
    TRAFFIC_CONE: (8, 8),
}

# Drawing colours of the classes (nuscenes-devkit's colour map), for
# pictures of labels only: the camera images do not use them.
PALETTE = {
    PEDESTRIAN: (0, 0, 230),
    BARRIER: (112, 128, 144),
    TRAFFIC_CONE: (47, 79, 79),
    BICYCLE: (220, 20, 60),
    BUS: (255, 69, 0),
    CAR: (255, 158, 0),
    MOTORCYCLE: (255, 61, 99),
    TRUCK: (255, 99, 71),
    ROAD: (0, 207, 191),
    OTHER_FLAT: (175, 0, 75),
    SIDEWALK: (75, 0, 75),
    TERRAIN: (112, 180, 60),
    MANMADE: (222, 184, 135),
    VEGETATION: (0, 175, 0),
}

# Typical nuScenes LIDAR_TOP intensity (0-255) of each class at normal
# incidence; real scans have a median near 12 and bright paint/plates.
LIDAR_INTENSITY = {
    NOISE: 2.0,
    ROAD: 8.0,
    OTHER_FLAT: 14.0,
    SIDEWALK: 22.0,
    TERRAIN: 12.0,
    MANMADE: 35.0,
    VEGETATION: 16.0,
    CAR: 30.0,
    TRUCK: 32.0,
    BUS: 32.0,
    BICYCLE: 25.0,
    MOTORCYCLE: 28.0,
    PEDESTRIAN: 20.0,
    BARRIER: 45.0,
    TRAFFIC_CONE: 70.0,  # retro-reflective bands
}


def lookup(table: dict, labels: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Vectorised ``table[label]`` for an array of lidarseg ids.

    Args:
        table (dict): Maps lidarseg id to a scalar or a tuple.
        labels (np.ndarray): Integer lidarseg ids, any shape.
        dtype: dtype of the result.

    Returns:
        np.ndarray: ``labels.shape`` (+ the tuple length) of table values.
    """
    keys = np.array(sorted(table))
    values = np.array([table[k] for k in keys], dtype=dtype)
    lut = np.zeros((256, ) + values.shape[1:], dtype=dtype)
    lut[keys] = values
    return lut[np.asarray(labels, dtype=np.int64)]
