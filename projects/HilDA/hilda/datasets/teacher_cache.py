# Copyright (c) HilDA authors. All rights reserved.
"""On-disk format of the teacher-feature cache.

``tools/cache_teacher_features.py`` runs the frozen teacher once over the
(un-augmented) camera images of every sample and writes::

    <cache_dir>/meta.json              # what the features were made with
    <cache_dir>/samples/<token>.npz    # one file per sample

Each sample file holds, for its C cameras, ``feat_<l>`` (C, D_l, h_l, w_l)
float16 maps of level ``l`` (shallow to deep), ``cls`` (C, D) float16,
``img_aug_matrix`` (C, 3, 3), the deterministic pixel map from the raw
image to the teacher input, ``cam_names`` and ``teacher_key`` (the key
of the teacher that made it, so that a cache rebuilt for another teacher
and interrupted cannot mix the two). ``meta.json`` holds the
teacher's :meth:`~hilda.models.teachers.BaseImageTeacher.cache_key` (type,
levels, channels, strides and a hash of its weights), the teacher input
size and the image size after the image transform. Reading a sample
whose ``teacher_key`` differs from ``meta.json``'s is an error naming the
file, and the pre-trainer refuses features of another teacher.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from ..errors import HilDAError

# 2: every sample file carries its teacher_key.
CACHE_FORMAT_VERSION = 2
META_FILE = 'meta.json'
SAMPLES_DIR = 'samples'


class TeacherCacheError(HilDAError, ValueError):
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
    try:
        with open(path) as f:
            meta = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:  # truncated/garbled
        raise TeacherCacheError(
            f'{path}: not a valid cache meta.json ({e}); re-run '
            'tools/cache_teacher_features.py with --overwrite') from e
    if not isinstance(meta, dict) or 'teacher_key' not in meta:
        raise TeacherCacheError(
            f'{path}: not a valid cache meta.json (no teacher_key); re-run '
            'tools/cache_teacher_features.py with --overwrite')
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
                 cam_names: List[str], teacher_key: str) -> str:
    """Write one sample's features as float16 (temporary file, then
    rename, so an interrupted run leaves no half-written file).

    Raises:
        TeacherCacheError: When a feature is NaN/inf, or overflows float16
            (naming the sample and the array); nothing is written.
    """
    path = sample_file(cache_dir, token)
    with np.errstate(over='ignore'):  # overflow is checked just below
        arrays = {
            f'feat_{i}': f.astype(np.float16)
            for i, f in enumerate(feats)
        }
        arrays['cls'] = cls.astype(np.float16)
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            raise TeacherCacheError(
                f'{path}: teacher output {name} of sample {token} has '
                f'{int((~np.isfinite(array)).sum())} non-finite values in '
                'float16 (NaN/inf, or beyond +-65504); not written')
    tmp = path[:-len('.npz')] + '.tmp.npz'
    np.savez(
        tmp,
        img_aug_matrix=np.asarray(img_aug_matrix, np.float64),
        cam_names=np.asarray(cam_names),
        teacher_key=np.asarray(str(teacher_key)),
        **arrays)
    os.replace(tmp, path)
    return path


def sample_teacher_key(path: str) -> Optional[str]:
    """The ``teacher_key`` stored in a sample file; None when the file has
    none or cannot be read (so it is recomputed, not trusted)."""
    try:
        with np.load(path) as data:
            if 'teacher_key' not in data.files:
                return None
            return str(data['teacher_key'])
    except Exception:  # truncated/garbled: treat as not cached
        return None


def read_sample(cache_dir: str,
                token: str,
                num_levels: int,
                teacher_key: Optional[str] = None) -> Dict[str, np.ndarray]:
    """Load one sample's cached arrays.

    Args:
        cache_dir (str): The cache directory.
        token (str): The sample token.
        num_levels (int): Feature levels the file must hold.
        teacher_key (str, optional): When given, the file's
            ``teacher_key`` must equal it. Defaults to None.

    Raises:
        TeacherCacheError: Naming the file when it is missing, incomplete
            or made by another teacher.
    """
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
        key for key in ['cls', 'img_aug_matrix', 'cam_names', 'teacher_key'] +
        [f'feat_{i}' for i in range(num_levels)] if key not in out
    ]
    if missing:
        raise TeacherCacheError(
            f'{path}: missing arrays {missing} (written by an older or '
            'interrupted tools/cache_teacher_features.py; re-run it)')
    found = str(out['teacher_key'])
    if teacher_key is not None and found != teacher_key:
        raise TeacherCacheError(
            f'{path}: features of teacher {found}, but {cache_dir}/'
            f'{META_FILE} is for teacher {teacher_key} (a rebuild for '
            'another teacher was interrupted?); re-run '
            'tools/cache_teacher_features.py to recompute them')
    return out
