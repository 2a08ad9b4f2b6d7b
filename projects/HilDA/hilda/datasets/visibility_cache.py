# Copyright (c) HilDA authors. All rights reserved.
"""On-disk format of precomputed camera visibility.

The free-space occlusion test depends only on the scan and the camera
calibration, so ``tools/cache_visibility.py`` can run it once per sample::

    <cache_dir>/meta.json              # the test's settings
    <cache_dir>/samples/<token>.npz    # one file per sample

Each sample file holds ``bits``: the (C, N) bool mask of the (point,
camera) pairs inside the un-augmented images that pass the test, packed
8 per byte (``np.packbits``), its ``shape``, ``cam_names``, the
``settings_key`` of ``meta.json`` and two fingerprints,
``scan_sha1`` (of the t0 scan's coordinates as loaded) and ``calib_sha1``
(of every camera's ``cam2img`` and ``lidar2cam`` in the info). Reading a
sample whose fingerprints differ from the sample at hand (a changed scan
or calibration), or whose settings differ from the pipeline's, is an
error naming the file.

A file may also hold the ground mask of the sample's t+1 scan, which
``BEVOccupancyTarget`` removes from the diffusion target:
``next_ground_bits`` (packed), ``next_ground_count``, ``next_scan_sha1``
(of the t+1 scan's coordinates as loaded, in the t0 frame) and
``next_ground_key`` (the key of the target's ground-segmenter settings).
Files without it are read as before (the mask is then computed online).
"""
import hashlib
import json
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from ..errors import HilDAError
from .cache_files import read_npz

VISIBILITY_FORMAT_VERSION = 1
META_FILE = 'meta.json'
SAMPLES_DIR = 'samples'


class VisibilityCacheError(HilDAError, ValueError):
    """A visibility cache is missing, stale or made with other settings."""


def settings_key(settings: dict) -> str:
    """A short stable key of the occlusion settings (JSON, sorted)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def scan_sha1(points: np.ndarray) -> str:
    """Fingerprint of a scan: SHA-1 of its x, y, z as float32."""
    xyz = np.ascontiguousarray(np.asarray(points)[:, :3], dtype=np.float32)
    return hashlib.sha1(xyz.tobytes()).hexdigest()


def calib_sha1(cam2img: np.ndarray, lidar2cam: np.ndarray) -> str:
    """Fingerprint of a rig: SHA-1 of its (C, 4, 4) matrices as float64."""
    data = np.concatenate([
        np.asarray(cam2img, np.float64).ravel(),
        np.asarray(lidar2cam, np.float64).ravel()
    ])
    return hashlib.sha1(data.tobytes()).hexdigest()


def sample_file(cache_dir: str, token: str) -> str:
    """Path of the visibility file of sample ``token``."""
    return osp.join(cache_dir, SAMPLES_DIR, f'{token}.npz')


def write_meta(cache_dir: str,
               settings: dict,
               next_ground: Optional[dict] = None) -> None:
    """Write ``meta.json`` (the settings, their key, the format version
    and, when the t+1 ground masks are stored, their settings and key)."""
    os.makedirs(osp.join(cache_dir, SAMPLES_DIR), exist_ok=True)
    meta = dict(
        settings=settings,
        settings_key=settings_key(settings),
        format_version=VISIBILITY_FORMAT_VERSION)
    if next_ground is not None:
        meta.update(
            next_ground_settings=next_ground,
            next_ground_key=settings_key(next_ground))
    path = osp.join(cache_dir, META_FILE)
    with open(path + '.tmp', 'w') as f:
        json.dump(meta, f, indent=1, default=str)
    os.replace(path + '.tmp', path)


def read_meta(cache_dir: str) -> dict:
    """Load and check ``<cache_dir>/meta.json``."""
    path = osp.join(cache_dir, META_FILE)
    if not osp.isfile(path):
        raise VisibilityCacheError(
            f'{path} does not exist: write the cache first with '
            f'tools/cache_visibility.py CONFIG --out-dir {cache_dir}')
    try:
        with open(path) as f:
            meta = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise VisibilityCacheError(
            f'{path}: not a valid visibility meta.json ({e})') from e
    if not isinstance(meta, dict) or meta.get(
            'format_version') != VISIBILITY_FORMAT_VERSION:
        raise VisibilityCacheError(
            f'{path}: not a visibility cache of format '
            f'{VISIBILITY_FORMAT_VERSION}; re-run tools/cache_visibility.py')
    return meta


def write_sample(cache_dir: str,
                 token: str,
                 seen: np.ndarray,
                 cam_names: Sequence[str],
                 key: str,
                 scan: str,
                 calib: str,
                 next_ground: Optional[dict] = None) -> str:
    """Write one sample's (C, N) mask bit-packed (temporary file, then
    rename), and the t+1 ground mask when ``next_ground`` is given
    (``mask``, ``scan_sha1``, ``key``, see the module's docstring)."""
    path = sample_file(cache_dir, token)
    tmp = path[:-len('.npz')] + '.tmp.npz'
    seen = np.asarray(seen, bool)
    extra = {}
    if next_ground is not None:
        mask = np.asarray(next_ground['mask'], bool)
        extra = dict(
            next_ground_bits=np.packbits(mask),
            next_ground_count=np.asarray(len(mask), np.int64),
            next_scan_sha1=np.asarray(next_ground['scan_sha1']),
            next_ground_key=np.asarray(next_ground['key']))
    np.savez(
        tmp,
        bits=np.packbits(seen.ravel()),
        shape=np.asarray(seen.shape, np.int64),
        cam_names=np.asarray(list(cam_names)),
        settings_key=np.asarray(key),
        scan_sha1=np.asarray(scan),
        calib_sha1=np.asarray(calib),
        **extra)
    os.replace(tmp, path)
    return path


def read_sample(cache_dir: str, token: str, key: str, scan: str, calib: str,
                cam_names: Sequence[str]) -> np.ndarray:
    """The (C, N) mask of sample ``token``, checked against the sample.

    Args:
        cache_dir (str): The cache directory.
        token (str): Sample token.
        key (str): Settings key the pipeline expects.
        scan (str): :func:`scan_sha1` of the t0 scan as loaded now.
        calib (str): :func:`calib_sha1` of the sample's calibration now.
        cam_names (Sequence[str]): The sample's cameras, in order.

    Raises:
        VisibilityCacheError: Naming the file when it is missing,
            unreadable, made with other settings or from another scan,
            calibration or camera list.
    """
    return read_sample_and_ground(cache_dir, token, key, scan, calib,
                                  cam_names)[0]


def read_sample_and_ground(cache_dir: str,
                           token: str,
                           key: str,
                           scan: str,
                           calib: str,
                           cam_names: Sequence[str],
                           next_scan: Optional[str] = None) -> tuple:
    """:func:`read_sample`, and the stored t+1 ground mask.

    Args:
        cache_dir, token, key, scan, calib, cam_names: As in
            :func:`read_sample`.
        next_scan (str, optional): :func:`scan_sha1` of the t+1 scan as
            loaded now; None: the ground mask is not read.

    Returns:
        tuple: The (C, N) mask and, when ``next_scan`` is given and the
        file holds a t+1 ground mask, a dict with its ``mask`` (bool),
        ``key`` (the segmenter settings' key) and ``path``; else None.

    Raises:
        VisibilityCacheError: As :func:`read_sample`, and naming the file
            when its ground mask was made from another t+1 scan.
    """
    path = sample_file(cache_dir, token)
    if not osp.isfile(path):
        raise VisibilityCacheError(
            f'{path}: no precomputed visibility for sample {token} (run '
            'tools/cache_visibility.py on this data set)')
    out = read_npz(path, VisibilityCacheError)
    checks = (('settings_key', key, 'occlusion settings'),
              ('scan_sha1', scan, 'scan'), ('calib_sha1', calib,
                                            'camera calibration'))
    if next_scan is not None and 'next_scan_sha1' in out:
        checks += (('next_scan_sha1', next_scan, 't+1 scan'), )
    for name, expected, what in checks:
        if name not in out:
            raise VisibilityCacheError(f'{path}: no {name}; re-run '
                                       'tools/cache_visibility.py')
        if str(out[name]) != expected:
            raise VisibilityCacheError(
                f'{path}: stale precomputed visibility: made for another '
                f'{what} than sample {token} has now ({name} '
                f'{str(out[name])[:12]} != {expected[:12]}); re-run '
                'tools/cache_visibility.py --overwrite')
    if list(out['cam_names']) != list(cam_names):
        raise VisibilityCacheError(
            f"{path}: cameras {list(out['cam_names'])} differ from the "
            f'sample\'s {list(cam_names)}')
    shape = tuple(int(n) for n in out['shape'])
    size = int(np.prod(shape))
    bits = np.unpackbits(out['bits'], count=size)
    ground = None
    if next_scan is not None and 'next_scan_sha1' in out:
        ground = dict(
            mask=np.unpackbits(
                out['next_ground_bits'],
                count=int(out['next_ground_count'])).astype(bool),
            key=str(out['next_ground_key']),
            path=path)
    return bits.reshape(shape).astype(bool), ground
