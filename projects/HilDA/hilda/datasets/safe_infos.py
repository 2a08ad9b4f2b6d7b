# Copyright (c) HilDA authors. All rights reserved.
"""Info files read without trusting them.

An info file is data, but a ``.pkl`` is a program for the unpickler: a
crafted ``__reduce__`` runs its code when ``pickle.load`` (and thus
mmengine's ``load``) reads it. And the paths inside an info file are
joined to the data root as they are, so ``../../etc/passwd`` or an
absolute path elsewhere is read like any scan. Here, by default:

* ``.pkl`` infos are read with :class:`InfoUnpickler`, which builds only
  plain Python values (dict, list, str, numbers, ...) and numpy arrays and
  scalars; any other global is refused with an error naming the file and
  the global. ``allow_unsafe_pickle=True`` (a dataset argument) restores
  plain ``pickle`` for files one trusts.
* ``.json`` infos (``tools/create_hilda_infos.py --format json``) are read
  with ``json``: a format that cannot execute anything.
* Every file path of a parsed sample (``*_path`` keys: the scan, images,
  lidarseg labels, sweeps) must lie inside the data root, compared on the
  normalised path (symbolic links inside the root, e.g. a ``samples``
  link to another disk, stay allowed); ``allow_paths_outside_data_root=True``
  lifts this.
"""
import io
import json
import os.path as osp
import pickle
from typing import Any, Iterator, List, Optional, Tuple

from mmengine.fileio import get

from ..utils.mmengine_compat import dataset_metainfo
from .info_format import InfoFileError

# (module, name) pairs the info unpickler may build: numpy arrays, scalars
# and dtypes (numpy 1.x and 2.x module names), and containers that
# pickle through a global.
_NUMPY_GLOBALS = frozenset(
    (module, name)
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray')
    for name in ('_reconstruct', 'scalar')) | {('numpy', 'ndarray'),
                                               ('numpy', 'dtype')}
# builtins is __builtin__ in protocol 2 (mmengine's dump).
_PLAIN_GLOBALS = frozenset(
    (module, name) for module in ('builtins', '__builtin__')
    for name in ('set', 'frozenset', 'complex', 'slice')) | {
        ('collections', 'OrderedDict'), ('_codecs', 'encode')
    }
ALLOWED_GLOBALS = _NUMPY_GLOBALS | _PLAIN_GLOBALS


class UnsafeInfoError(InfoFileError):
    """An info file asks the unpickler for something other than plain
    values and numpy arrays."""


class InfoUnpickler(pickle.Unpickler):
    """Unpickler that builds plain Python values and numpy arrays only.

    Args:
        file: The binary stream.
        source (str): The file name, for the error message.
    """

    def __init__(self, file, source: str) -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if module.startswith('numpy') and name.endswith('DType'):
            # numpy>=1.25 pickles some dtypes as numpy.dtypes.<X>DType.
            return super().find_class(module, name)
        raise UnsafeInfoError(
            f'{self.source}: the info file asks the unpickler for '
            f'{module}.{name}; info files may hold only plain Python values '
            'and numpy arrays (it may carry code that would run on loading). '
            'Re-create it with tools/create_hilda_infos.py (--format json '
            'writes a format that cannot run code), or set '
            'allow_unsafe_pickle=True on the dataset for a file you trust')


def load_info_file(ann_file: str,
                   backend_args: Optional[dict] = None,
                   allow_unsafe_pickle: bool = False) -> Any:
    """Read an info file (``.pkl`` or ``.json``) without running its code.

    Args:
        ann_file (str): The file (local or through ``backend_args``).
        backend_args (dict, optional): mmengine file backend arguments.
        allow_unsafe_pickle (bool): Read ``.pkl`` with plain ``pickle``.
            Defaults to False.

    Returns:
        The file's content.

    Raises:
        UnsafeInfoError: A ``.pkl`` asks for a global outside
            :data:`ALLOWED_GLOBALS`.
        InfoFileError: Any other extension.
        EOFError, pickle.UnpicklingError, ValueError: A truncated or
            corrupt file (the datasets turn these into an
            :class:`InfoFileError` naming the file).
    """
    ext = osp.splitext(str(ann_file))[1].lower()
    if ext not in ('.pkl', '.pickle', '.json'):
        raise InfoFileError(
            f'{ann_file}: info files are .pkl or .json, not "{ext}"')
    data = get(ann_file, backend_args=backend_args)
    if ext == '.json':
        return json.loads(data.decode('utf-8'))
    if allow_unsafe_pickle:
        return pickle.loads(data)
    return InfoUnpickler(io.BytesIO(data), str(ann_file)).load()


def _paths(value: Any, where: str = '') -> Iterator[Tuple[str, str]]:
    """``(key path, file path)`` of every ``*_path`` string in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = f'{where}.{key}' if where else str(key)
            if isinstance(item, str) and str(key).endswith('_path'):
                yield name, item
            else:
                yield from _paths(item, name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _paths(item, f'{where}[{i}]')


def check_paths_inside(info: dict, data_root: Optional[str],
                       ann_file: str) -> None:
    """Refuse a parsed sample with a file path outside ``data_root``.

    Paths are compared after ``normpath`` (``..`` resolved lexically);
    nothing is checked when the dataset has no data root.

    Raises:
        InfoFileError: ``'<ann_file>: sample <token>: <key> <path> is
            outside the data root <root>'``.
    """
    if not data_root:
        return
    root = osp.normpath(osp.abspath(data_root))
    for key, path in _paths(info):
        full = osp.normpath(osp.abspath(osp.join(root, path)))
        if full != root and not full.startswith(root + osp.sep):
            raise InfoFileError(
                f'{ann_file}: sample {info.get("token", "?")}: {key} {path} '
                f'is outside the data root {root}; info files may only name '
                'files under it (set allow_paths_outside_data_root=True on '
                'the dataset to allow others)')


def load_data_list_safely(dataset) -> List[dict]:
    """``BaseDataset.load_data_list`` of mmengine, reading the info file
    with :func:`load_info_file` and confining each sample's paths.

    ``dataset`` needs the attributes ``allow_unsafe_pickle`` and
    ``allow_paths_outside_data_root`` besides mmengine's own.
    """
    annotations = load_info_file(dataset.ann_file,
                                 getattr(dataset, 'backend_args', None),
                                 dataset.allow_unsafe_pickle)
    if not isinstance(annotations, dict):
        raise TypeError('the annotations loaded from the file should be a '
                        f'dict, but got {type(annotations).__name__}')
    if 'data_list' not in annotations or 'metainfo' not in annotations:
        raise ValueError('annotations must have data_list and metainfo keys')
    metainfo = dataset_metainfo(dataset)
    for key, value in annotations['metainfo'].items():
        metainfo.setdefault(key, value)
    data_list = []
    for raw in annotations['data_list']:
        parsed = dataset.parse_data_info(raw)
        for info in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(info, dict):
                raise TypeError('parse_data_info should return a dict or a '
                                f'list of dicts, not {type(info).__name__}')
            if not dataset.allow_paths_outside_data_root:
                check_paths_inside(info, dataset.data_root, dataset.ann_file)
            data_list.append(info)
    return data_list
