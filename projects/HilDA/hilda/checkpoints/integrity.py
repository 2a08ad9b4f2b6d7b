# Copyright (c) HilDA authors. All rights reserved.
"""SHA-256 sidecars, zip CRC checks and atomic file writes for checkpoints.

Exported weights get a sidecar ``<file>.sha256`` in ``sha256sum`` format
(``<64 hex>  <file name>``), so ``sha256sum -c <file>.sha256`` checks them
without Python, and :func:`verify_checkpoint` checks them before loading.
A sidecar keeps the file name the user chose (configs refer to it); the
OpenMMLab ``-<hash8>.pth`` naming of published models is accepted too:
when a name ends in ``-<8 hex>.pth`` those 8 characters must match.

Training checkpoints get a sidecar too (``AtomicCheckpointHook``), and
every torch checkpoint is a zip archive whose records carry a CRC-32:
:func:`check_checkpoint_file` checks both (the sidecar when there is one)
before a checkpoint is resumed, tested or exported, so one flipped byte is
refused with the file's name instead of being loaded as a wrong weight.
"""
import hashlib
import os
import os.path as osp
import re
import tempfile
import zipfile
import zlib
from typing import Callable, Optional

import torch

from ..errors import HilDAError
from ..utils.work_dir_lock import writer_tag

SIDECAR_SUFFIX = '.sha256'
_HASH8_NAME = re.compile(r'-([0-9a-f]{8})\.pth$')


class ChecksumError(HilDAError, ValueError):
    """A file does not match its recorded SHA-256 (or has none)."""


def sha256_file(path: str, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _umask() -> int:
    # Read by setting it; set straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, flush
    it to disk and rename it over ``path``.

    ``os.replace`` within one directory is atomic on POSIX: readers see the
    old file or the complete new one, never a partial write; if ``write``
    fails or the process dies, ``path`` is untouched and the temporary
    file (``.<name>.pid<pid>@<host>.*.tmp``, naming its writer so that a
    clean-up can tell whether it is stale) is removed (or left, on a hard
    kill, under a name no loader looks for). The file gets the mode a plain
    ``open`` would give (0666 minus the umask), not ``mkstemp``'s 0600.
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.{writer_tag()}.',
        suffix='.tmp',
        dir=directory)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        write(tmp)
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    # Make the rename itself durable.
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def torch_save_atomic(obj, path: str) -> None:
    """``torch.save`` through :func:`atomic_write`, byte-reproducible.

    torch names the records of its zip archive after the target file, so
    saving straight to a random temporary name would give different bytes
    (and hashes) each time; writing through a file object gives torch's
    fixed ``archive/`` prefix instead.
    """

    def write(tmp):
        with open(tmp, 'wb') as f:
            torch.save(obj, f)

    atomic_write(path, write)


def write_sidecar(path: str) -> str:
    """Write ``<path>.sha256`` (``sha256sum`` format); returns the hash."""
    digest = sha256_file(path)
    line = f'{digest}  {osp.basename(path)}\n'

    def write(tmp):
        with open(tmp, 'w') as f:
            f.write(line)

    atomic_write(path + SIDECAR_SUFFIX, write)
    return digest


def recorded_sha256(path: str) -> Optional[str]:
    """The hash in ``<path>.sha256``, or None when there is no sidecar."""
    sidecar = path + SIDECAR_SUFFIX
    if not osp.isfile(sidecar):
        return None
    with open(sidecar) as f:
        fields = f.read().split()
    # sha256sum -c accepts either case.
    if not fields or not re.fullmatch(r'[0-9a-fA-F]{64}', fields[0]):
        raise ChecksumError(f'{sidecar}: not a sha256sum line')
    return fields[0].lower()


def verify_checkpoint(path: str, require: bool = True) -> str:
    """Check ``path`` against its sidecar and/or ``-<hash8>`` name.

    Args:
        path (str): The checkpoint file.
        require (bool): Raise when neither a sidecar nor a hash in the
            name exists. Defaults to True.

    Returns:
        str: The file's SHA-256 (hex).

    Raises:
        ChecksumError: The file differs from the recorded hash (the message
            gives both), or nothing is recorded and ``require`` is True.
    """
    actual = sha256_file(path)
    recorded = recorded_sha256(path)
    if recorded is not None and recorded != actual:
        raise ChecksumError(
            f'{path}: SHA-256 {actual} does not match {recorded} recorded in '
            f'{path}{SIDECAR_SUFFIX}: the file was modified or corrupted '
            'after it was written')
    match = _HASH8_NAME.search(osp.basename(path))
    if match and not actual.startswith(match.group(1)):
        raise ChecksumError(
            f'{path}: SHA-256 {actual} does not start with {match.group(1)} '
            'from its file name: the file was modified or corrupted')
    if recorded is None and match is None and require:
        raise ChecksumError(
            f'{path}: no {osp.basename(path)}{SIDECAR_SUFFIX} sidecar and '
            'no -<hash8>.pth name, so it cannot be verified (re-export it '
            'with tools/model_converters/hilda_to_mmdet3d.py, or pass '
            'require=False)')
    return actual


def load_verified_checkpoint(path: str,
                             map_location: str = 'cpu',
                             require: bool = True) -> dict:
    """:func:`verify_checkpoint`, then ``torch.load(weights_only=True)``."""
    verify_checkpoint(path, require=require)
    return torch.load(path, map_location=map_location, weights_only=True)


def zip_crc_problem(path: str) -> Optional[str]:
    """Why the zip archive ``path`` fails its CRC-32 check, or None.

    Reads every record (the whole file) and compares it with the CRC-32
    stored in the archive, which ``torch.save`` writes and ``torch.load``
    never checks.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        return f'is not an intact zip archive ({e})'
    if bad is not None:
        return (f'record {bad} fails its zip CRC-32 check: the file was '
                'modified or corrupted after it was written')
    return None


def check_checkpoint_file(path: str, require_sidecar: bool = False) -> None:
    """Check a torch checkpoint before use: zip CRC-32 of every record and,
    when it has one, its ``.sha256`` sidecar.

    Args:
        path (str): The checkpoint.
        require_sidecar (bool): Also refuse a file without a sidecar or
            ``-<hash8>`` name. Defaults to False.

    Raises:
        ChecksumError: Naming ``path`` and what failed.
    """
    if zipfile.is_zipfile(path):
        problem = zip_crc_problem(path)
        if problem is not None:
            raise ChecksumError(f'{path} {problem}')
    verify_checkpoint(path, require=require_sidecar)
