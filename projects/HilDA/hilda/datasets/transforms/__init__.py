# Copyright (c) HilDA authors. All rights reserved.
from .augmentation import ConsistentPointAug, MultiViewImageAug
from .correspondence import (PairsMismatchError, ProjectPointsToImages,
                             check_pairs_match_points, points_fingerprint)
from .formatting import PackHilDAInputs
from .ground_segmentation import (PatchworkPPGroundSegmenter,
                                  PlaneFitGroundSegmenter, ground_mask)
from .loading import (BadSampleError, LoadCheckedMultiViewImages,
                      LoadCheckedPointsFromFile, LoadTemporalPoints,
                      load_points_file)
from .occupancy import BEVOccupancyTarget, bev_occupancy
from .projection import as_4x4, lidar2img_matrix, project_points
from .superpixels import ImageSuperpixels
from .teacher_features import LoadTeacherFeatures

__all__ = [
    'ConsistentPointAug', 'MultiViewImageAug', 'ProjectPointsToImages',
    'PairsMismatchError', 'check_pairs_match_points', 'points_fingerprint',
    'PackHilDAInputs', 'PatchworkPPGroundSegmenter', 'PlaneFitGroundSegmenter',
    'ground_mask', 'BadSampleError', 'LoadCheckedMultiViewImages',
    'LoadCheckedPointsFromFile', 'LoadTemporalPoints', 'load_points_file',
    'BEVOccupancyTarget', 'bev_occupancy', 'as_4x4', 'lidar2img_matrix',
    'project_points', 'ImageSuperpixels', 'LoadTeacherFeatures'
]
