# Copyright (c) HilDA authors. All rights reserved.
import numpy as np
import pytest
import torch
from mmdet3d.structures import LiDARInstance3DBoxes

from projects.HilDA.hilda.evaluation import CenterDistanceDetMetric

CLASSES = ['car', 'pedestrian']


def boxes(rows):
    """(x, y, z, l, w, h, yaw, vx, vy) rows -> LiDAR boxes with velocity."""
    return LiDARInstance3DBoxes(
        torch.tensor(rows, dtype=torch.float32).reshape(-1, 9), box_dim=9)


GT = [
    [10.0, 0.0, -1.8, 4.5, 1.9, 1.6, 0.3, 0.0, 0.0],  # car
    [-20.0, 5.0, -1.8, 4.2, 1.8, 1.5, 1.6, 0.0, 0.0],  # car
    [5.0, -8.0, -1.8, 0.7, 0.7, 1.7, 0.0, 1.0, 0.0],  # pedestrian
]
GT_LABELS = [0, 0, 1]


def evaluate(pred_rows, pred_labels, scores, gt_rows=GT, gt_labels=GT_LABELS):
    metric = CenterDistanceDetMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    for _ in range(2):  # two identical samples
        metric.process({}, [
            dict(
                eval_ann_info=dict(
                    gt_bboxes_3d=boxes(gt_rows),
                    gt_labels_3d=np.array(gt_labels)),
                pred_instances_3d=dict(
                    bboxes_3d=boxes(pred_rows),
                    scores_3d=torch.tensor(scores),
                    labels_3d=torch.tensor(pred_labels)))
        ])
    return metric.compute_metrics(metric.results)


def test_exact_predictions_score_map_one_and_no_errors():
    # plus a box of a class the dataset does not evaluate (label -1)
    other = [[0.0, 20.0, -1.8, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]]
    result = evaluate(
        GT,
        GT_LABELS, [0.9, 0.8, 0.7],
        gt_rows=GT + other,
        gt_labels=GT_LABELS + [-1])
    assert result['mAP'] == pytest.approx(1.0)
    assert result['car_AP'] == pytest.approx(1.0)
    assert result['mATE'] == pytest.approx(0.0, abs=1e-6)
    assert result['mAOE'] == pytest.approx(0.0, abs=1e-6)


def test_centre_offset_counts_only_at_larger_thresholds():
    shifted = [list(row) for row in GT]
    for row in shifted:
        row[0] += 1.5  # 1.5 m off: matched at 2 m and 4 m only
    result = evaluate(shifted, GT_LABELS, [0.9, 0.8, 0.7])
    for name in CLASSES:
        assert result[f'{name}_AP_dist_0.5'] == 0.0
        assert result[f'{name}_AP_dist_1.0'] == 0.0
        assert result[f'{name}_AP_dist_2.0'] == pytest.approx(1.0)
        assert result[f'{name}_AP_dist_4.0'] == pytest.approx(1.0)
    assert result['mAP'] == pytest.approx(0.5)
    assert result['mATE'] == pytest.approx(1.5, abs=1e-4)


def test_wrong_class_and_far_boxes_do_not_count():
    # the pedestrian is predicted as a car, and a GT car 60 m away (beyond
    # nuScenes' 50 m car range) is neither a positive nor missed
    far_gt = GT + [[60.0, 0.0, -1.8, 4.5, 1.9, 1.6, 0.0, 0.0, 0.0]]
    result = evaluate(
        GT[:2] + [GT[2]], [0, 0, 0], [0.9, 0.8, 0.7],
        gt_rows=far_gt,
        gt_labels=GT_LABELS + [0])
    assert result['pedestrian_AP'] == 0.0
    # both cars in range are found before the false positive; counting the
    # far car as missed would cap the recall at 2/3 (AP about 0.6)
    assert result['car_AP'] > 0.95
