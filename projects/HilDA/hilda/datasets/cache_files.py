# Copyright (c) HilDA authors. All rights reserved.
"""File reading shared by the per-sample caches (``teacher_cache``,
``visibility_cache``): one ``.npz`` file per sample."""
from typing import Dict, Type

import numpy as np


def read_npz(path: str, error: Type[Exception]) -> Dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``, loaded.

    Raises:
        error: Naming ``path`` when the file cannot be read (a truncated
            or garbled file).
    """
    try:
        with np.load(path) as data:
            return {name: data[name] for name in data.files}
    except Exception as e:  # zip/npy errors of a truncated file
        raise error(f'{path}: cannot read ({e})') from e
