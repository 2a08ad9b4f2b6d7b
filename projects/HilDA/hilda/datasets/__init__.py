# Copyright (c) HilDA authors. All rights reserved.
from .hilda_nuscenes_dataset import (HilDANuScenesDataset, InfoFileError,
                                     neighbour_to_t0)
from .nuscenes_lidarseg_dataset import (LIDARSEG_LEARNING_MAP,
                                        NUSCENES_LIDARSEG_CLASSES,
                                        NuScenesLidarSegDataset,
                                        SubsetFileError, load_subset_file)
from .skip_bad_samples_dataset import SkipBadSamplesDataset
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all

__all__ = [
    'SkipBadSamplesDataset', 'HilDANuScenesDataset', 'InfoFileError',
    'neighbour_to_t0', 'LIDARSEG_LEARNING_MAP', 'NUSCENES_LIDARSEG_CLASSES',
    'NuScenesLidarSegDataset', 'SubsetFileError', 'load_subset_file',
    *_transforms_all
]
