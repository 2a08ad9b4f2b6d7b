# Copyright (c) HilDA authors. All rights reserved.
from .metrics import CenterDistanceDetMetric

__all__ = ['CenterDistanceDetMetric']
