# Copyright (c) HilDA authors. All rights reserved.
from .hilda_nuscenes_dataset import (HilDANuScenesDataset, InfoFileError,
                                     neighbour_to_t0)
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all

__all__ = [
    'HilDANuScenesDataset', 'InfoFileError', 'neighbour_to_t0',
    *_transforms_all
]
