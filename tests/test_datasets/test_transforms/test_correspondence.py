# Copyright (c) HilDA authors. All rights reserved.
import numpy as np
import pytest
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS

from projects.HilDA.hilda.datasets.transforms import PairsMismatchError
from tests.helpers.synthetic_nuscenes import (IMG_H, IMG_W, LOAD_IMAGES,
                                              LOAD_POINTS, build_dataset)


@TRANSFORMS.register_module(force=True)
class _ReverseRowsForTest(BaseTransform):
    """Reverses the point order (as a shuffle would), coordinates kept."""

    def transform(self, results):
        results['points'] = results['points'][
            np.arange(len(results['points']))[::-1].copy()]
        return results


def packed_sample(tmp_path, after_projection):
    dataset = build_dataset(tmp_path, [
        LOAD_POINTS,
        LOAD_IMAGES,
        dict(type='MultiViewImageAug', final_size=(IMG_H, IMG_W)),
        dict(type='ProjectPointsToImages'),
        dict(type='ConsistentPointAug', translation_std=(0.5, 0.5, 0.2)),
        *after_projection,
        dict(type='PackHilDAInputs'),
    ],
                            temporal=False)
    return dataset[1]


def test_rigid_augmentation_after_projection_passes(tmp_path):
    packed = packed_sample(tmp_path, [])
    assert len(packed['data_samples'].correspondences) > 0


def test_dropping_points_after_projection_fails_clearly(tmp_path):
    with pytest.raises(PairsMismatchError, match='computed on .* points'):
        packed_sample(tmp_path, [
            dict(
                type='PointsRangeFilter',
                point_cloud_range=(-5, -5, -3, 5, 5, 3))
        ])


def test_reordering_points_after_projection_fails_clearly(tmp_path):
    with pytest.raises(PairsMismatchError, match='no longer match'):
        packed_sample(tmp_path, [dict(type='_ReverseRowsForTest')])
