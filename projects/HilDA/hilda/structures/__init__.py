# Copyright (c) HilDA authors. All rights reserved.
"""Data structures shared by the data and model layers (no registry, and
nothing of models, datasets or engine is imported here)."""
from .bev_grid import BEVGrid
from .point_levels import PointLevels, SparseLevel

__all__ = ['BEVGrid', 'PointLevels', 'SparseLevel']
