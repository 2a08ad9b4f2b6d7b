# Copyright (c) HilDA authors. All rights reserved.
"""File reading shared by the per-sample caches (``teacher_cache``,
``visibility_cache``): one ``.npz`` file per sample.

A sample's file is read once per sample and epoch, so its fixed costs
count: :func:`read_npz` reads the file in one call and each ``.npy``
member from memory (``np.load`` opens every member twice and parses
every header with ``ast.literal_eval``); a header already parsed once
(the same keys, dtypes and shapes recur from sample to sample) is not
parsed again. New headers go through numpy's own reader.
"""
import io
import os
import zipfile
import zlib
from typing import Dict, Tuple, Type

import numpy as np

# npy header text -> (dtype, shape) of C-ordered arrays parsed by numpy.
_HEADERS: Dict[bytes, Tuple[np.dtype, tuple]] = {}
_MAX_HEADERS = 4096


def read_npz(path: str, error: Type[Exception]) -> Dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``, loaded (writable, as
    ``np.load`` gives them; object arrays are refused as there).

    Raises:
        error: Naming ``path`` when the file cannot be read (a truncated
            or garbled file).
    """
    try:
        with open(path, 'rb') as f:
            data = bytearray(os.fstat(f.fileno()).st_size)
            if f.readinto(data) != len(data):
                raise OSError('file changed while read')
        out = {}
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.filename.endswith('.npy'):
                    raise ValueError(f'{info.filename} is not a .npy array')
                out[info.filename[:-4]] = _member(archive, info, data)
        return out
    except Exception as e:  # zip/npy errors of a truncated file
        raise error(f'{path}: cannot read ({e})') from e


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
            data: bytearray) -> np.ndarray:
    """One ``.npy`` member: from ``data`` where it is stored uncompressed
    with a header seen before (and its CRC right), else through numpy's
    reader."""
    start = _stored_start(info, data)
    if start is not None:
        header, offset = _npy_header(data, start)
        known = _HEADERS.get(header)
        if known is not None:
            dtype, shape = known
            count = int(np.prod(shape))
            end = start + info.file_size
            if (offset + count * dtype.itemsize <= end
                    and zlib.crc32(memoryview(data)[start:end]) == info.CRC):
                array = np.frombuffer(
                    data, dtype, count=count, offset=offset).reshape(shape)
                # An npy member starts anywhere in the zip file.
                return array if array.flags.aligned else array.copy()
    with archive.open(info) as member:
        array = np.lib.format.read_array(member, allow_pickle=False)
    if (start is not None and len(_HEADERS) < _MAX_HEADERS
            and (array.flags.c_contiguous or array.ndim < 2)):
        _HEADERS[header] = (array.dtype, array.shape)
    return array


def _stored_start(info: zipfile.ZipInfo, data: bytearray):
    """Offset of an uncompressed member's bytes in the archive, else
    None."""
    local = info.header_offset
    if (info.compress_type != zipfile.ZIP_STORED
            or data[local:local + 4] != b'PK\x03\x04'):
        return None
    name_len = int.from_bytes(data[local + 26:local + 28], 'little')
    extra_len = int.from_bytes(data[local + 28:local + 30], 'little')
    return local + 30 + name_len + extra_len


def _npy_header(data: bytearray, start: int) -> Tuple[bytes, int]:
    """(header text, offset of the array's bytes) of the ``.npy`` at
    ``start`` (format 1.0: 2-byte header length; 2.0/3.0: 4-byte)."""
    major = data[start + 6]
    size = 2 if major == 1 else 4
    length = int.from_bytes(data[start + 8:start + 8 + size], 'little')
    begin = start + 8 + size
    return bytes(data[start:begin + length]), begin + length
