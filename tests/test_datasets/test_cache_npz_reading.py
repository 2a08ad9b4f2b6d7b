# Copyright (c) HilDA authors. All rights reserved.
"""read_npz gives np.load's arrays, also where it skips numpy's parser."""
import numpy as np
import pytest

from projects.HilDA.hilda.datasets.cache_files import read_npz


def arrays(seed):
    rng = np.random.default_rng(seed)
    return dict(
        bits=np.packbits(rng.random(1001) < 0.5),
        feats=rng.normal(size=(3, 5, 7)).astype(np.float16),
        fortran=np.asfortranarray(rng.normal(size=(4, 6))),
        count=np.asarray(17, np.int64),
        names=np.asarray(['CAM_FRONT', 'CAM_BACK']),
        key=np.asarray('0123abcd'))


def test_read_npz_equals_np_load_twice(tmp_path):
    # The second file repeats every header: read without numpy's parser.
    for seed in (0, 1):
        path = str(tmp_path / f'{seed}.npz')
        np.savez(path, **arrays(seed))
        got = read_npz(path, ValueError)
        with np.load(path) as expected:
            assert sorted(got) == sorted(expected.files)
            for name in expected.files:
                assert got[name].dtype == expected[name].dtype
                assert got[name].shape == expected[name].shape
                assert np.array_equal(got[name], expected[name])
                assert got[name].flags.writeable


def test_garbled_member_is_an_error_naming_the_file(tmp_path):
    path = str(tmp_path / 'a.npz')
    np.savez(path, **arrays(0))
    read_npz(path, ValueError)  # its headers are known from now on
    data = bytearray(open(path, 'rb').read())
    where = data.find(b'CAM_FRONT'.decode().encode('utf-32-le'))
    assert where > 0
    data[where] ^= 1  # same length, one bit changed
    open(path, 'wb').write(bytes(data))
    with pytest.raises(ValueError, match=f'{path}: cannot read'):
        read_npz(path, ValueError)
