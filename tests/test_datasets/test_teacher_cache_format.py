# Copyright (c) HilDA authors. All rights reserved.
"""The teacher-cache file format on its own: teacher keys per sample file,
non-finite features refused, a broken meta.json named."""
import numpy as np
import pytest

from projects.HilDA.hilda.datasets import teacher_cache

TeacherCacheError = teacher_cache.TeacherCacheError
read_meta = teacher_cache.read_meta
read_sample = teacher_cache.read_sample
sample_file = teacher_cache.sample_file
write_meta = teacher_cache.write_meta
write_sample = teacher_cache.write_sample

CAMS = ['CAM_FRONT', 'CAM_BACK']


def write(cache_dir, token='tok0', key='teacher-a', feat=None):
    feat = np.ones((2, 3, 4, 5), np.float32) if feat is None else feat
    return write_sample(
        str(cache_dir), token, [feat], np.zeros((2, 6), np.float32),
        np.tile(np.eye(3), (2, 1, 1)), CAMS, key)


def test_sample_file_carries_its_teacher_key(tmp_path):
    write_meta(str(tmp_path), dict(teacher_key='teacher-a'))
    write(tmp_path)
    entry = read_sample(str(tmp_path), 'tok0', 1, 'teacher-a')
    assert str(entry['teacher_key']) == 'teacher-a'


def test_another_teachers_file_is_an_error_naming_it(tmp_path):
    write_meta(str(tmp_path), dict(teacher_key='teacher-b'))
    path = write(tmp_path, key='teacher-a')
    with pytest.raises(TeacherCacheError) as err:
        read_sample(str(tmp_path), 'tok0', 1, 'teacher-b')
    assert path in str(err.value)
    assert 'teacher-a' in str(err.value) and 'teacher-b' in str(err.value)


@pytest.mark.parametrize('bad', [np.nan, np.inf, 1e6])
def test_non_finite_features_are_refused(tmp_path, bad):
    """1e6 is finite in float32 but inf in the float16 file."""
    write_meta(str(tmp_path), dict(teacher_key='teacher-a'))
    feat = np.ones((2, 3, 4, 5), np.float32)
    feat[1, 2, 3, 4] = bad
    with pytest.raises(TeacherCacheError, match='tok0.*feat_0.*non-finite'):
        write(tmp_path, feat=feat)
    assert not (tmp_path / 'samples' / 'tok0.npz').exists()
    assert sample_file(str(tmp_path), 'tok0').endswith('tok0.npz')


@pytest.mark.parametrize('content', ['{"teacher_key": "a", ', '', '[1, 2]'])
def test_broken_meta_json_names_its_path(tmp_path, content):
    (tmp_path / 'meta.json').write_text(content)
    with pytest.raises(TeacherCacheError) as err:
        read_meta(str(tmp_path))
    assert str(tmp_path / 'meta.json') in str(err.value)
