# Copyright (c) HilDA authors. All rights reserved.
from .center_distance_det_metric import CenterDistanceDetMetric

__all__ = ['CenterDistanceDetMetric']
