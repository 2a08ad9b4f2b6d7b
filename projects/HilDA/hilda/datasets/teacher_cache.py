# Copyright (c) HilDA authors. All rights reserved.
"""On-disk format of the teacher-feature cache.

``tools/cache_teacher_features.py`` runs the frozen teacher once over the
(un-augmented) camera images of every sample and writes::

    <cache_dir>/meta.json              # what the features were made with
    <cache_dir>/samples/<token>.npz    # one file per sample

Each sample file holds, for its C cameras, ``feat_<l>`` (C, D_l, h_l, w_l)
float16 maps of level ``l`` (shallow to deep), ``cls`` (C, D) float16,
``img_aug_matrix`` (C, 3, 3), the deterministic pixel map from the raw
image to the teacher input, ``cam_names``, ``teacher_key`` (the key
of the teacher that made it, so that a cache rebuilt for another teacher
and interrupted cannot mix the two), ``token`` (the sample it belongs to)
and ``image_fingerprint`` (:func:`image_fingerprint` of the camera files
it was computed from). ``meta.json`` holds the
teacher's :meth:`~hilda.models.teachers.BaseImageTeacher.cache_key` (type,
CLS and a hash of its weights' bytes), its levels, channels and strides,
the teacher input size, the image size after the image transform and the
``(D, h, w)`` of every level's map.

Reading a sample (:func:`read_sample`) is an error naming the file when it
belongs to another sample (``token``), was made by another teacher, has a
map or CLS of another shape than ``meta.json`` says, or holds a NaN/inf;
with ``image_fingerprint`` given, also when the images changed since.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmengine.fileio import get as get_bytes

from ..errors import HilDAError
from .cache_files import read_npz

# 2: every sample file carries its teacher_key.
# 3: ... and its token and image fingerprint; the teacher key hashes the
#    weights' bytes; meta.json has the maps' shapes.
CACHE_FORMAT_VERSION = 3
META_FILE = 'meta.json'
SAMPLES_DIR = 'samples'


class TeacherCacheError(HilDAError, ValueError):
    """A teacher-feature cache is missing, incomplete or does not fit."""


def sample_file(cache_dir: str, token: str) -> str:
    """Path of the cache file of sample ``token``."""
    return osp.join(cache_dir, SAMPLES_DIR, f'{token}.npz')


def image_fingerprint(img_paths: List[str],
                      backend_args: Optional[dict] = None) -> str:
    """A hash of the camera files' bytes, in camera order.

    Reading the encoded bytes costs far less than decoding them, and any
    changed, swapped or replaced image changes the hash.

    Raises:
        TeacherCacheError: An image file cannot be read (naming it).
    """
    digest = hashlib.sha256()
    for path in img_paths:
        try:
            data = get_bytes(path, backend_args=backend_args)
        except (OSError, ValueError) as e:
            raise TeacherCacheError(
                f'{path}: cannot read the image ({e})') from e
        digest.update(f'{osp.basename(path)}:{len(data)}:'.encode())
        digest.update(data)
    return digest.hexdigest()[:32]


def info_image_paths(info: dict) -> List[str]:
    """The camera files of a parsed sample (``images.<cam>.img_path``), in
    the info's camera order."""
    return [cam['img_path'] for cam in (info.get('images') or {}).values()]


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
                 cam_names: List[str], teacher_key: str,
                 image_fingerprint: str) -> str:
    """Write one sample's features as float16 (temporary file, then
    rename, so an interrupted run leaves no half-written file), with the
    token, teacher key and image fingerprint that identify them.

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
        token=np.asarray(str(token)),
        image_fingerprint=np.asarray(str(image_fingerprint)),
        **arrays)
    os.replace(tmp, path)
    return path


def stale_reason(path: str, token: str, teacher_key: str,
                 fingerprint: str) -> Optional[str]:
    """Why the cache file ``path`` cannot serve sample ``token`` (None when
    it can): missing, unreadable, another sample's, another teacher's or
    made from other images. Only the small identity arrays are read."""
    if not osp.isfile(path):
        return 'missing'
    try:
        with np.load(path) as data:
            found = {
                key: str(data[key])
                for key in ('token', 'teacher_key', 'image_fingerprint')
                if key in data.files
            }
    except Exception:  # truncated/garbled: recompute, never trust
        return 'unreadable'
    for key, want in (('token', token), ('teacher_key', teacher_key),
                      ('image_fingerprint', fingerprint)):
        if found.get(key) != want:
            return f'{key} {found.get(key)} is not {want}'
    return None


def _check_arrays(path: str, out: dict, num_levels: int,
                  meta: Optional[dict]) -> None:
    """Shapes (against ``meta.json``) and finiteness of a read file."""
    num_cams = len(out['cam_names'])
    expected = {'cls': (num_cams, None), 'img_aug_matrix': (num_cams, 3, 3)}
    shapes = (meta or {}).get('feat_shapes') or [None] * num_levels
    for i, shape in zip(range(num_levels), shapes):
        expected[f'feat_{i}'] = (num_cams, *shape) if shape else \
            (num_cams, None, None, None)
    if meta and meta.get('teacher', {}).get('cls_channels'):
        expected['cls'] = (num_cams, meta['teacher']['cls_channels'])
    for name, want in expected.items():
        got = out[name].shape
        if len(got) != len(want) or any(w is not None and g != w
                                        for g, w in zip(got, want)):
            want_text = tuple('*' if w is None else w for w in want)
            raise TeacherCacheError(
                f'{path}: {name} has shape {tuple(got)}, expected '
                f'{want_text} (meta.json of the cache); re-run '
                'tools/cache_teacher_features.py --overwrite')
        if not np.isfinite(out[name]).all():
            raise TeacherCacheError(
                f'{path}: {name} has '
                f'{int((~np.isfinite(out[name])).sum())} NaN/inf values; '
                're-run tools/cache_teacher_features.py --overwrite')


def read_sample(
        cache_dir: str,
        token: str,
        num_levels: int,
        teacher_key: Optional[str] = None,
        meta: Optional[dict] = None,
        image_fingerprint: Optional[str] = None) -> Dict[str, np.ndarray]:
    """Load one sample's cached arrays, checked.

    Args:
        cache_dir (str): The cache directory.
        token (str): The sample token; the file must hold this token.
        num_levels (int): Feature levels the file must hold.
        teacher_key (str, optional): When given, the file's
            ``teacher_key`` must equal it. Defaults to None.
        meta (dict, optional): The cache's ``meta.json``; when given, every
            map must have its level's ``feat_shapes`` and the CLS its
            ``cls_channels``. Defaults to None.
        image_fingerprint (str, optional): When given, the file's
            ``image_fingerprint`` must equal it. Defaults to None.

    Raises:
        TeacherCacheError: Naming the file when it is missing, incomplete,
            another sample's, made by another teacher or from other
            images, of the wrong shape, or not finite.
    """
    path = sample_file(cache_dir, token)
    if not osp.isfile(path):
        raise TeacherCacheError(
            f'{path}: no cached teacher features for sample {token}; '
            'the cache was made for other samples (re-run '
            'tools/cache_teacher_features.py on this data set)')
    out = read_npz(path, TeacherCacheError)
    missing = [
        key for key in [
            'cls', 'img_aug_matrix', 'cam_names', 'teacher_key', 'token',
            'image_fingerprint'
        ] + [f'feat_{i}' for i in range(num_levels)] if key not in out
    ]
    if missing:
        raise TeacherCacheError(
            f'{path}: missing arrays {missing} (written by an older or '
            'interrupted tools/cache_teacher_features.py; re-run it)')
    if str(out['token']) != token:
        raise TeacherCacheError(
            f'{path}: holds the features of sample {out["token"]}, not '
            f'of {token} (a copied or renamed file?); re-run '
            'tools/cache_teacher_features.py to recompute it')
    found = str(out['teacher_key'])
    if teacher_key is not None and found != teacher_key:
        raise TeacherCacheError(
            f'{path}: features of teacher {found}, but {cache_dir}/'
            f'{META_FILE} is for teacher {teacher_key} (a rebuild for '
            'another teacher was interrupted?); re-run '
            'tools/cache_teacher_features.py to recompute them')
    if image_fingerprint is not None and \
            str(out['image_fingerprint']) != image_fingerprint:
        raise TeacherCacheError(
            f'{path}: made from other images than sample {token} has now '
            f'(fingerprint {out["image_fingerprint"]}, the images give '
            f'{image_fingerprint}); re-run tools/cache_teacher_features.py')
    _check_arrays(path, out, num_levels, meta)
    return out
