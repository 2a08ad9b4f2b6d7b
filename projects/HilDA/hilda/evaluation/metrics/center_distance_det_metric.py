# Copyright (c) HilDA authors. All rights reserved.
"""nuScenes-style detection AP for data sets without the devkit's tables.

mmdet3d's ``NuScenesMetric`` builds a ``NuScenes`` object from the full
devkit tables (``sample.json``, ``sample_annotation.json``, ...), converts
the boxes to the global frame through them and runs ``DetectionEval``. The
demo world writes mmdet3d info files only, so that path cannot run on it.
This metric takes the ground truth from the dataset's ``eval_ann_info``
(LiDAR frame), and computes the nuScenes detection metrics with the
devkit's own matching and AP code (``accumulate``, ``calc_ap``,
``calc_tp``): greedy matching by BEV centre distance at 0.5, 1, 2 and 4 m,
AP over recall >= 0.1 with precision clipped at 0.1, TP errors at 2 m.

Differences from the official evaluation, all due to the missing tables:
boxes stay in the LiDAR frame (distances are frame-independent; velocity
is compared in that frame), the class range filter uses the distance to
the LiDAR origin instead of the ego centre (0.94 m apart on nuScenes), no
bike-rack filtering, no attributes (mAAE) and hence no NDS.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet3d.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from nuscenes.eval.common.data_classes import EvalBoxes
from nuscenes.eval.common.utils import center_distance
from nuscenes.eval.detection.algo import accumulate, calc_ap, calc_tp
from nuscenes.eval.detection.data_classes import DetectionBox
from pyquaternion import Quaternion
from terminaltables import AsciiTable

# nuScenes' detection_cvpr_2019 configuration.
CLASS_RANGE = dict(
    car=50,
    truck=50,
    bus=50,
    trailer=50,
    construction_vehicle=50,
    pedestrian=40,
    motorcycle=40,
    bicycle=40,
    traffic_cone=30,
    barrier=30)
TP_METRICS = dict(
    mATE='trans_err', mASE='scale_err', mAOE='orient_err', mAVE='vel_err')


def _to_numpy(value):
    return value.cpu().numpy() if hasattr(value, 'cpu') else \
        np.asarray(value)


def _boxes(sample_token: str, boxes, labels: np.ndarray,
           scores: Optional[np.ndarray], classes: Sequence[str],
           class_range: Dict[str,
                             float], max_boxes: int) -> List[DetectionBox]:
    """mmdet3d LiDAR boxes -> devkit ``DetectionBox`` list (range-filtered).
    """
    if boxes is None or len(boxes) == 0:
        return []
    centers = _to_numpy(boxes.gravity_center)
    dims = _to_numpy(boxes.dims)  # l, w, h
    yaws = _to_numpy(boxes.yaw)
    tensor = _to_numpy(boxes.tensor)
    velocity = tensor[:, 7:9] if tensor.shape[1] >= 9 else \
        np.zeros((len(tensor), 2))
    order = np.argsort(-scores) if scores is not None else \
        np.arange(len(centers))
    out = []
    for i in order:
        if not 0 <= int(labels[i]) < len(classes):
            continue  # e.g. -1: a class the dataset does not evaluate
        name = classes[int(labels[i])]
        dist = float(np.linalg.norm(centers[i, :2]))
        if name not in class_range or dist > class_range[name]:
            continue
        out.append(
            DetectionBox(
                sample_token=sample_token,
                translation=tuple(float(x) for x in centers[i]),
                # the devkit's size order is (w, l, h)
                size=(float(dims[i, 1]), float(dims[i, 0]), float(dims[i, 2])),
                rotation=tuple(
                    Quaternion(axis=[0, 0, 1], radians=float(yaws[i]))),
                velocity=(float(velocity[i, 0]), float(velocity[i, 1])),
                ego_translation=tuple(float(x) for x in centers[i]),
                detection_name=name,
                detection_score=-1.0 if scores is None else float(scores[i])))
        if len(out) == max_boxes:
            break
    return out


@METRICS.register_module()
class CenterDistanceDetMetric(BaseMetric):
    """nuScenes detection AP (centre distance) from the dataset's own boxes.

    Works with any mmdet3d ``Det3DDataset`` in test mode (``eval_ann_info``
    with ``gt_bboxes_3d``/``gt_labels_3d`` in the LiDAR frame) whose class
    names are nuScenes detection classes; see the module docstring for how
    it differs from the official nuScenes evaluation.

    Returns ``mAP``, per class ``{class}_AP`` (mean over the distance
    thresholds) and ``{class}_AP_dist_{th}``, and ``mATE``, ``mASE``,
    ``mAOE``, ``mAVE`` (means over classes of the TP errors at
    ``dist_th_tp``).

    Args:
        dist_ths (Sequence[float]): Matching thresholds in metres.
            Defaults to (0.5, 1.0, 2.0, 4.0).
        dist_th_tp (float): Threshold for the TP errors. Defaults to 2.0.
        min_recall (float): Defaults to 0.1.
        min_precision (float): Defaults to 0.1.
        class_range (dict, optional): Evaluation radius per class (m).
            Defaults to nuScenes' (car 50 m, pedestrian 40 m, ...).
        max_boxes_per_sample (int): Defaults to 500 (nuScenes' limit).
        collect_device (str): Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix.
    """

    def __init__(self,
                 dist_ths: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
                 dist_th_tp: float = 2.0,
                 min_recall: float = 0.1,
                 min_precision: float = 0.1,
                 class_range: Optional[Dict[str, float]] = None,
                 max_boxes_per_sample: int = 500,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.dist_ths = tuple(sorted(float(t) for t in dist_ths))
        self.dist_th_tp = float(dist_th_tp)
        self.min_recall = min_recall
        self.min_precision = min_precision
        self.class_range = dict(CLASS_RANGE if class_range is
                                None else class_range)
        self.max_boxes_per_sample = max_boxes_per_sample

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep the ground truth and predictions of every sample (CPU)."""
        for sample in data_samples:
            gt = sample['eval_ann_info']
            pred = sample['pred_instances_3d']
            self.results.append(
                dict(
                    gt_bboxes_3d=gt['gt_bboxes_3d'].to('cpu'),
                    gt_labels_3d=_to_numpy(gt['gt_labels_3d']),
                    bboxes_3d=pred['bboxes_3d'].to('cpu'),
                    scores_3d=_to_numpy(pred['scores_3d']),
                    labels_3d=_to_numpy(pred['labels_3d'])))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Match, accumulate and average as nuScenes' ``DetectionEval``."""
        classes = list(self.dataset_meta['classes'])
        gt_boxes, pred_boxes = EvalBoxes(), EvalBoxes()
        for i, res in enumerate(results):
            token = str(i)
            gt_boxes.add_boxes(
                token,
                _boxes(token, res['gt_bboxes_3d'], res['gt_labels_3d'], None,
                       classes, self.class_range, 10**9))
            pred_boxes.add_boxes(
                token,
                _boxes(token, res['bboxes_3d'], res['labels_3d'],
                       res['scores_3d'], classes, self.class_range,
                       self.max_boxes_per_sample))

        metrics, rows = {}, []
        tp_errors = {name: [] for name in TP_METRICS}
        class_aps = []
        for name in classes:
            aps = []
            for th in sorted(set(self.dist_ths) | {self.dist_th_tp}):
                md = accumulate(gt_boxes, pred_boxes, name, center_distance,
                                th)
                if th in self.dist_ths:
                    ap = calc_ap(md, self.min_recall, self.min_precision)
                    metrics[f'{name}_AP_dist_{th}'] = ap
                    aps.append(ap)
                if th == self.dist_th_tp:
                    for key, attr in TP_METRICS.items():
                        tp_errors[key].append(
                            calc_tp(md, self.min_recall, attr))
            metrics[f'{name}_AP'] = float(np.mean(aps))
            class_aps.append(metrics[f'{name}_AP'])
            num_gt = sum(b.detection_name == name for b in gt_boxes.all)
            rows.append([name, str(num_gt)] + [f'{a:.4f}' for a in aps] +
                        [f'{metrics[f"{name}_AP"]:.4f}'])
        metrics['mAP'] = float(np.mean(class_aps)) if class_aps else 0.0
        for key, values in tp_errors.items():
            if values:
                metrics[key] = float(np.mean(values))

        header = ['class', 'gt'] + [f'AP@{t}m' for t in self.dist_ths] + \
            ['AP']
        table = AsciiTable(
            [header] + rows +
            [['mAP', '', *[''] * len(self.dist_ths), f'{metrics["mAP"]:.4f}']])
        print_log('\n' + table.table, logger=MMLogger.get_current_instance())
        return metrics
