# Copyright (c) HilDA authors. All rights reserved.
"""The ``.npz`` reading shared by the teacher and visibility caches."""
import re

import numpy as np
import pytest

from projects.HilDA.hilda.datasets.cache_files import read_npz
from projects.HilDA.hilda.datasets.visibility_cache import VisibilityCacheError


def test_every_array_is_read(tmp_path):
    path = str(tmp_path / 'sample.npz')
    np.savez(path, bits=np.arange(5, dtype=np.uint8), key=np.asarray('k'))
    out = read_npz(path, VisibilityCacheError)
    assert sorted(out) == ['bits', 'key']
    np.testing.assert_array_equal(out['bits'], np.arange(5))
    assert str(out['key']) == 'k'


def test_truncated_file_is_the_callers_error_naming_it(tmp_path):
    path = str(tmp_path / 'sample.npz')
    np.savez(path, bits=np.arange(1000))
    with open(path, 'r+b') as f:
        f.truncate(100)
    with pytest.raises(
            VisibilityCacheError, match=re.escape(path) + ': cannot read'):
        read_npz(path, VisibilityCacheError)
