# Copyright (c) HilDA authors. All rights reserved.
"""Classes of the demo world: nuScenes ids, colours and LiDAR reflectivity.

Semantic labels are raw nuScenes lidarseg ids (the 32-class index of
``lidarseg.json``), so the same label mapping reads the demo set and real
nuScenes. Boxes use the 10 nuScenes detection classes of mmdet3d.
"""
import numpy as np
from mmdet3d.datasets.convert_utils import nus_categories

# Raw nuScenes lidarseg ids of the classes the world contains.
NOISE = 0
PEDESTRIAN = 2
CAR = 17
ROAD = 24
SIDEWALK = 26
TERRAIN = 27
MANMADE = 28
VEGETATION = 30

LIDARSEG_NAMES = {
    NOISE: 'noise',
    PEDESTRIAN: 'human.pedestrian.adult',
    CAR: 'vehicle.car',
    ROAD: 'flat.driveable_surface',
    SIDEWALK: 'flat.sidewalk',
    TERRAIN: 'flat.terrain',
    MANMADE: 'static.manmade',
    VEGETATION: 'static.vegetation',
}

# mmdet3d's nuScenes detection classes, in its label order.
# mmdet3d's nuScenes detection classes (the labels of real infos).
DETECTION_CLASSES = tuple(nus_categories)
# Detection label of each lidarseg class that carries a 3D box.
DETECTION_LABELS = {
    CAR: DETECTION_CLASSES.index('car'),
    PEDESTRIAN: DETECTION_CLASSES.index('pedestrian'),
}
# nuScenes attribute ids (mmdet3d order) for moving / not moving objects.
ATTRIBUTE_LABELS = {
    CAR: (5, 6),  # vehicle.moving, vehicle.parked
    PEDESTRIAN: (2, 3),  # pedestrian.moving, pedestrian.standing
}

# Base RGB colour of each class in the camera images. Chosen far apart in
# RGB (every pair at least ~80 apart) so that shading and texture, which
# change a colour by at most ~20 %, keep it nearest to its own class: the
# images then carry the semantics an image teacher has to transfer.
PALETTE = {
    ROAD: (65, 65, 72),
    SIDEWALK: (195, 185, 170),
    TERRAIN: (150, 180, 70),
    MANMADE: (180, 95, 75),
    VEGETATION: (35, 120, 45),
    CAR: (45, 85, 205),
    PEDESTRIAN: (230, 50, 200),
}
SKY_COLOR = (140, 190, 240)

# Typical nuScenes LIDAR_TOP intensity (0-255) of each class at normal
# incidence; real scans have a median near 12 and bright paint/plates.
LIDAR_INTENSITY = {
    NOISE: 2.0,
    ROAD: 8.0,
    SIDEWALK: 22.0,
    TERRAIN: 12.0,
    MANMADE: 35.0,
    VEGETATION: 16.0,
    CAR: 30.0,
    PEDESTRIAN: 20.0,
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
