# Copyright (c) HilDA authors. All rights reserved.
"""On-disk format of the teacher-feature cache.

``tools/cache_teacher_features.py`` runs the frozen teacher once over the
(un-augmented) camera images of every sample and writes::

    <cache_dir>/meta.json              # what the features were made with
    <cache_dir>/samples/<token>.npz    # one file per sample

Each sample file holds, for its C cameras, ``feat_<l>`` (C, D_l, h_l, w_l)
float16 maps of level ``l`` (shallow to deep), ``cls`` (C, D) float16,
``img_aug_matrix`` (C, 3, 3), the deterministic pixel map from the raw
image to the teacher input, and ``cam_names``. ``meta.json`` holds the
teacher's :meth:`~hilda.models.teachers.BaseImageTeacher.cache_key` (type,
levels, channels, strides and a hash of its weights), the teacher input
size and the image size after the image transform. A pre-trainer reading
the cache refuses features of another teacher.
"""
import json
import os
import os.path as osp
from typing import Dict, List

import numpy as np

CACHE_FORMAT_VERSION = 1
META_FILE = 'meta.json'
SAMPLES_DIR = 'samples'


class TeacherCacheError(ValueError):
    """A teacher-feature cache is missing, incomplete or does not fit."""


def sample_file(cache_dir: str, token: str) -> str:
    """Path of the cache file of sample ``token``."""
    return osp.join(cache_dir, SAMPLES_DIR, f'{token}.npz')


def read_meta(cache_dir: str) -> dict:
    """Load and check ``<cache_dir>/meta.json``."""
    path = osp.join(cache_dir, META_FILE)
    if not osp.isfile(path):
        raise TeacherCacheError(
            f'{path} does not exist: write the cache first with '
            'tools/cache_teacher_features.py CONFIG --out-dir '
            f'{cache_dir}')
    with open(path) as f:
        meta = json.load(f)
    version = meta.get('format_version')
    if version != CACHE_FORMAT_VERSION:
        raise TeacherCacheError(
            f'{path}: cache format version {version}, this HilDA reads '
            f'{CACHE_FORMAT_VERSION}; re-run tools/cache_teacher_features.py')
    return meta


def write_meta(cache_dir: str, meta: dict) -> None:
    """Write ``meta.json`` atomically (with the format version)."""
    os.makedirs(osp.join(cache_dir, SAMPLES_DIR), exist_ok=True)
    meta = dict(meta, format_version=CACHE_FORMAT_VERSION)
    path = osp.join(cache_dir, META_FILE)
    with open(path + '.tmp', 'w') as f:
        json.dump(meta, f, indent=1)
    os.replace(path + '.tmp', path)


def write_sample(cache_dir: str, token: str, feats: List[np.ndarray],
                 cls: np.ndarray, img_aug_matrix: np.ndarray,
                 cam_names: List[str]) -> str:
    """Write one sample's features as float16 (temporary file, then
    rename, so an interrupted run leaves no half-written file)."""
    path = sample_file(cache_dir, token)
    arrays = {f'feat_{i}': f.astype(np.float16) for i, f in enumerate(feats)}
    tmp = path[:-len('.npz')] + '.tmp.npz'
    np.savez(
        tmp,
        cls=cls.astype(np.float16),
        img_aug_matrix=np.asarray(img_aug_matrix, np.float64),
        cam_names=np.asarray(cam_names),
        **arrays)
    os.replace(tmp, path)
    return path


def read_sample(cache_dir: str, token: str,
                num_levels: int) -> Dict[str, np.ndarray]:
    """Load one sample's cached arrays; raises :class:`TeacherCacheError`
    naming the file when it is missing or incomplete."""
    path = sample_file(cache_dir, token)
    if not osp.isfile(path):
        raise TeacherCacheError(
            f'{path}: no cached teacher features for sample {token}; '
            'the cache was made for other samples (re-run '
            'tools/cache_teacher_features.py on this data set)')
    try:
        with np.load(path) as data:
            out = {key: data[key] for key in data.files}
    except Exception as e:  # zip/npy errors of a truncated file
        raise TeacherCacheError(f'{path}: cannot read ({e})') from e
    missing = [
        key for key in ['cls', 'img_aug_matrix', 'cam_names'] +
        [f'feat_{i}' for i in range(num_levels)] if key not in out
    ]
    if missing:
        raise TeacherCacheError(f'{path}: missing arrays {missing}')
    return out
