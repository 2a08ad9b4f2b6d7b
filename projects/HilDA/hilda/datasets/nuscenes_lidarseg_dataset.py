# Copyright (c) HilDA authors. All rights reserved.
"""nuScenes-lidarseg for mmdet3d's segmentors, with label-efficient subsets.

mmdet3d 1.4 has no nuScenes semantic segmentation dataset. This one reads
mmdet3d's nuScenes info files (v1.1) whose samples carry
``pts_semantic_mask_path`` (a ``<lidar_token>_lidarseg.bin`` file of uint8
raw lidarseg ids, one per point of the LIDAR_TOP scan) and maps the 32 raw
ids to the 16 classes of the nuScenes-lidarseg benchmark (plus ignore), as
Cylinder3D, SLidR, ScaLR and mmdet3d's later ``NuScenesSegDataset`` do.

A subset file restricts the samples to a label-efficient split (see
``tools/create_label_efficient_splits.py``).
"""
import copy
import json
import os.path as osp
from typing import Callable, List, Optional, Union

import numpy as np
from mmdet3d.datasets import Seg3DDataset
from mmdet3d.registry import DATASETS
from mmengine.fileio import get_local_path
from mmengine.logging import print_log

from ..errors import HilDAError
from .info_format import (LOAD_ERRORS, InfoFileError, check_data_list,
                          check_raw_info, read_error)
from .safe_infos import load_data_list_safely

NUSCENES_LIDARSEG_CLASSES = ('barrier', 'bicycle', 'bus', 'car',
                             'construction_vehicle', 'motorcycle',
                             'pedestrian', 'traffic_cone', 'trailer', 'truck',
                             'driveable_surface', 'other_flat', 'sidewalk',
                             'terrain', 'manmade', 'vegetation')
NUM_CLASSES = len(NUSCENES_LIDARSEG_CLASSES)  # 16, also the ignore index

# Raw nuScenes-lidarseg id (lidarseg.json's ``index``) -> benchmark class
# (index into NUSCENES_LIDARSEG_CLASSES); 16 = ignored.
LIDARSEG_LEARNING_MAP = {
    0: 16,  # noise
    1: 16,  # animal
    2: 6,  # human.pedestrian.adult
    3: 6,  # human.pedestrian.child
    4: 6,  # human.pedestrian.construction_worker
    5: 16,  # human.pedestrian.personal_mobility
    6: 6,  # human.pedestrian.police_officer
    7: 16,  # human.pedestrian.stroller
    8: 16,  # human.pedestrian.wheelchair
    9: 0,  # movable_object.barrier
    10: 16,  # movable_object.debris
    11: 16,  # movable_object.pushable_pullable
    12: 7,  # movable_object.trafficcone
    13: 16,  # static_object.bicycle_rack
    14: 1,  # vehicle.bicycle
    15: 2,  # vehicle.bus.bendy
    16: 2,  # vehicle.bus.rigid
    17: 3,  # vehicle.car
    18: 4,  # vehicle.construction
    19: 16,  # vehicle.emergency.ambulance
    20: 16,  # vehicle.emergency.police
    21: 5,  # vehicle.motorcycle
    22: 8,  # vehicle.trailer
    23: 9,  # vehicle.truck
    24: 10,  # flat.driveable_surface
    25: 11,  # flat.other
    26: 12,  # flat.sidewalk
    27: 13,  # flat.terrain
    28: 14,  # static.manmade
    29: 16,  # static.other
    30: 15,  # static.vegetation
    31: 16,  # vehicle.ego
}

# nuscenes-devkit's colour of the main raw class of each benchmark class.
NUSCENES_LIDARSEG_PALETTE = [[112, 128, 144], [220, 20, 60], [255, 69, 0],
                             [255, 158, 0], [233, 150, 70], [255, 61, 99],
                             [0, 0, 230], [47, 79, 79], [255, 140, 0],
                             [255, 99, 71], [0, 207, 191], [175, 0, 75],
                             [75, 0, 75], [112, 180, 60], [222, 184, 135],
                             [0, 175, 0]]


class SubsetFileError(HilDAError, ValueError):
    """A subset file that cannot be applied; the message names it."""


def load_subset_file(
        path: str,
        backend_args: Optional[dict] = None) -> List[Union[str, int]]:
    """Read the samples of a label-efficient split.

    Accepted formats:

    - ``.json`` written by ``tools/create_label_efficient_splits.py``: a
      dict with ``sample_tokens`` (or ``sample_indices``), or a plain list
      of tokens or indices.
    - any other extension: text, one sample token (or one integer index
      into the info file's ``data_list``) per line; blank lines and lines
      starting with ``#`` are skipped.

    Args:
        path (str): The subset file.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        list[str | int]: Sample tokens or info-file indices.

    Raises:
        SubsetFileError: Unreadable or empty file.
    """
    try:
        with get_local_path(path, backend_args=backend_args) as local:
            with open(local) as f:
                text = f.read()
    except FileNotFoundError as e:
        raise SubsetFileError(f'subset file {path} does not exist') from e
    if path.endswith('.json'):
        try:
            content = json.loads(text)
        except json.JSONDecodeError as e:
            raise SubsetFileError(f'{path}: not valid JSON ({e})') from e
        if isinstance(content, dict):
            entries = content.get('sample_tokens',
                                  content.get('sample_indices'))
            if entries is None:
                raise SubsetFileError(
                    f'{path}: expected a "sample_tokens" or "sample_indices" '
                    f'list, found keys {sorted(content)}')
        else:
            entries = content
    else:
        lines = [line.strip() for line in text.splitlines()]
        entries = [x for x in lines if x and not x.startswith('#')]
        if entries and all(x.isdigit() for x in entries):
            entries = [int(x) for x in entries]
    if not entries:
        raise SubsetFileError(f'{path}: the subset lists no sample')
    return list(entries)


@DATASETS.register_module()
class NuScenesLidarSegDataset(Seg3DDataset):
    """nuScenes-lidarseg semantic segmentation (16 classes) from mmdet3d
    nuScenes info files (v1.1 with ``pts_semantic_mask_path``).

    Labels follow mmdet3d's ``Seg3DDataset`` conventions: the pipeline loads
    the raw uint8 ids with ``LoadAnnotations3D(with_seg_3d=True,
    seg_3d_dtype='np.uint8')`` and ``PointSegClassMapping`` maps them with
    the array ``seg_label_mapping`` of every sample, so that classes are
    ``0 .. len(classes) - 1`` and everything else is ``ignore_index``
    (``len(classes)``); mmdet3d's ``SegMetric`` evaluates the result.

    ``seg_label_mapping`` is the composition of two maps:

    1. raw lidarseg id -> benchmark class (:data:`LIDARSEG_LEARNING_MAP`, or
       ``metainfo['seg_label_mapping']``, a dict like SemanticKITTI's
       ``labels_map`` with values in ``0..16``, 16 meaning ignore);
    2. benchmark class -> training label: the identity, or, when
       ``metainfo['classes']`` is a subset of the 16 classes (e.g. the
       classes present in the demo world), their position in that subset
       (other classes become ``ignore_index``).

    Args:
        data_root (str, optional): Dataset root. Defaults to None.
        ann_file (str): Info file, relative to ``data_root``.
        metainfo (dict, optional): ``classes`` (subset of the 16),
            ``palette``, ``seg_label_mapping`` (see above). Defaults to None.
        data_prefix (dict): ``pts`` (scans) and ``pts_semantic_mask``
            (lidarseg files). Defaults to nuScenes' layout
            ``samples/LIDAR_TOP`` and ``lidarseg/v1.0-trainval``.
        pipeline (list[dict | Callable]): Processing pipeline.
        modality (dict): Defaults to LiDAR only.
        ignore_index (int, optional): Label of ignored points. Defaults to
            ``len(metainfo['classes'])`` (16 for the full benchmark).
        subset_file (str, optional): Label-efficient split: a file listing
            sample tokens or info-file indices (see
            :func:`load_subset_file`), relative to ``data_root`` unless
            absolute. Only those samples are used. Defaults to None (all).
        scene_idxs (np.ndarray | str, optional): As ``Seg3DDataset``.
        test_mode (bool): Defaults to False.
        allow_unsafe_pickle (bool): See :mod:`.safe_infos`. Defaults to
            False.
        allow_paths_outside_data_root (bool): See :mod:`.safe_infos`.
            Defaults to False.
        **kwargs: The rest of :class:`mmdet3d.datasets.Seg3DDataset`'s
            arguments.
    """
    METAINFO = {
        'classes': NUSCENES_LIDARSEG_CLASSES,
        'palette': NUSCENES_LIDARSEG_PALETTE,
        # Ids of the benchmark label space (after the raw->16 map).
        'seg_valid_class_ids': tuple(range(NUM_CLASSES)),
        'seg_all_class_ids': tuple(range(NUM_CLASSES)),
    }

    def __init__(self,
                 data_root: Optional[str] = None,
                 ann_file: str = '',
                 metainfo: Optional[dict] = None,
                 data_prefix: dict = dict(
                     pts='samples/LIDAR_TOP',
                     img='',
                     pts_instance_mask='',
                     pts_semantic_mask='lidarseg/v1.0-trainval'),
                 pipeline: List[Union[dict, Callable]] = [],
                 modality: dict = dict(use_lidar=True, use_camera=False),
                 ignore_index: Optional[int] = None,
                 subset_file: Optional[str] = None,
                 scene_idxs: Optional[Union[str, np.ndarray]] = None,
                 test_mode: bool = False,
                 allow_unsafe_pickle: bool = False,
                 allow_paths_outside_data_root: bool = False,
                 **kwargs) -> None:
        self.allow_unsafe_pickle = allow_unsafe_pickle
        self.allow_paths_outside_data_root = allow_paths_outside_data_root
        metainfo = copy.deepcopy(dict(metainfo)) if metainfo else {}
        # Seg3DDataset needs the class names to build its maps and palette.
        metainfo.setdefault('classes', list(self.METAINFO['classes']))
        if ignore_index is None:
            ignore_index = len(metainfo['classes'])
        self.subset_file = subset_file
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            metainfo=metainfo,
            data_prefix=data_prefix,
            pipeline=pipeline,
            modality=modality,
            ignore_index=ignore_index,
            scene_idxs=scene_idxs,
            test_mode=test_mode,
            **kwargs)

    def get_seg_label_mapping(self,
                              metainfo: Optional[dict] = None) -> np.ndarray:
        """Array that maps raw lidarseg ids to training labels.

        Args:
            metainfo (dict, optional): May hold ``seg_label_mapping`` (raw
                id -> benchmark class, 16 = ignore).

        Returns:
            np.ndarray: (256,) int64, indexed by the uint8 raw id; ids
            without an entry map to ``ignore_index``.
        """
        raw_map = (metainfo or {}).get('seg_label_mapping')
        if raw_map is None or isinstance(raw_map, np.ndarray):
            raw_map = LIDARSEG_LEARNING_MAP
        size = max(256, max(int(k) for k in raw_map) + 1)
        mapping = np.full(size, self.ignore_index, dtype=np.int64)
        for raw_id, benchmark_id in raw_map.items():
            mapping[int(raw_id)] = self.label_mapping.get(
                int(benchmark_id), self.ignore_index)
        return mapping

    def load_data_list(self) -> List[dict]:
        """Load the info file, keeping only the subset when one is set.

        A truncated or corrupt file, an empty ``data_list`` or a sample
        without ``lidar_points`` raises :class:`InfoFileError` naming the
        file (and sample).
        """
        try:
            data_list = load_data_list_safely(self)
        except LOAD_ERRORS as e:
            raise read_error(self.ann_file, e) from e
        check_data_list(self.ann_file, data_list)
        if self.subset_file is None:
            return data_list
        path = self.subset_file
        if self.data_root and not osp.isabs(path) and \
                not osp.isfile(path):
            path = osp.join(self.data_root, path)
        entries = load_subset_file(path, self.backend_args)
        if all(isinstance(x, int) for x in entries):
            bad = [i for i in entries if not 0 <= i < len(data_list)]
            if bad:
                raise SubsetFileError(
                    f'{path}: indices {bad[:5]} are outside the '
                    f'{len(data_list)} samples of {self.ann_file}')
            keep = sorted(set(entries))
            subset = [data_list[i] for i in keep]
        else:
            wanted = set(map(str, entries))
            subset = [d for d in data_list if d.get('token') in wanted]
            found = {d.get('token') for d in subset}
            missing = sorted(wanted - found)
            if missing:
                raise SubsetFileError(
                    f'{path}: {len(missing)} of {len(wanted)} sample tokens '
                    f'are not in {self.ann_file} (e.g. {missing[:3]}); was '
                    'the split made from another info file?')
        print_log(
            f'{type(self).__name__}: subset {path} keeps {len(subset)} of '
            f'{len(data_list)} samples of {self.ann_file}',
            logger='current')
        return subset

    def parse_data_info(self, info: dict) -> dict:
        """Resolve paths like ``Seg3DDataset``; the sample must have labels
        unless the dataset is built for inference without annotations."""
        check_raw_info(self.ann_file, info)
        if 'pts_semantic_mask_path' not in info and (not self.test_mode
                                                     or self.load_eval_anns):
            raise InfoFileError(
                f'{self.ann_file}: sample {info.get("token")} has no '
                '"pts_semantic_mask_path"; create the info file from '
                'nuScenes with the lidarseg extension installed')
        return super().parse_data_info(info)
