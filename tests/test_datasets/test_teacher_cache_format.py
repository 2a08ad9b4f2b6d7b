# Copyright (c) HilDA authors. All rights reserved.
"""The teacher-cache file format on its own: teacher keys, tokens and
image fingerprints per sample file, shapes and finiteness checked on read,
non-finite features refused, a broken meta.json named."""
import os

import numpy as np
import pytest

from projects.HilDA.hilda.datasets import teacher_cache

TeacherCacheError = teacher_cache.TeacherCacheError
read_meta = teacher_cache.read_meta
read_sample = teacher_cache.read_sample
sample_file = teacher_cache.sample_file
write_meta = teacher_cache.write_meta
write_sample = teacher_cache.write_sample
stale_reason = teacher_cache.stale_reason
image_fingerprint = teacher_cache.image_fingerprint

CAMS = ['CAM_FRONT', 'CAM_BACK']


def write(cache_dir,
          token='tok0',
          key='teacher-a',
          feat=None,
          fingerprint='img-a'):
    feat = np.ones((2, 3, 4, 5), np.float32) if feat is None else feat
    os.makedirs(os.path.join(str(cache_dir), 'samples'), exist_ok=True)
    return write_sample(
        str(cache_dir), token, [feat], np.zeros((2, 6), np.float32),
        np.tile(np.eye(3), (2, 1, 1)), CAMS, key, fingerprint)


def overwrite(path, **changes):
    """Rewrite a cache file with some arrays replaced (an attack)."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez(path, **dict(arrays, **changes))


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


META = dict(
    teacher_key='teacher-a',
    feat_shapes=[[3, 4, 5]],
    teacher=dict(cls_channels=6))


def test_file_of_another_sample_under_a_tokens_name_is_refused(tmp_path):
    write(tmp_path, token='tok1')
    os.replace(
        sample_file(str(tmp_path), 'tok1'), sample_file(str(tmp_path), 'tok0'))
    with pytest.raises(TeacherCacheError) as err:
        read_sample(str(tmp_path), 'tok0', 1, 'teacher-a', META)
    assert sample_file(str(tmp_path), 'tok0') in str(err.value)
    assert 'tok1' in str(err.value)


def test_map_one_row_short_is_refused_naming_the_file(tmp_path):
    path = write(tmp_path)
    overwrite(path, feat_0=np.ones((2, 3, 3, 5), np.float16))
    with pytest.raises(
            TeacherCacheError, match=f'{path}: feat_0 has shape .2, 3, 3, 5.'):
        read_sample(str(tmp_path), 'tok0', 1, 'teacher-a', META)
    # without meta.json's shapes the same file reads (older callers)
    read_sample(str(tmp_path), 'tok0', 1, 'teacher-a')


def test_nan_inside_a_cache_file_is_refused_naming_the_file(tmp_path):
    path = write(tmp_path)
    cls = np.zeros((2, 6), np.float16)
    cls[1, 2] = np.nan
    overwrite(path, cls=cls)
    with pytest.raises(TeacherCacheError, match=f'{path}: cls has 1 NaN'):
        read_sample(str(tmp_path), 'tok0', 1, 'teacher-a', META)


def test_other_images_are_refused_when_the_fingerprint_is_given(tmp_path):
    path = write(tmp_path, fingerprint='img-a')
    read_sample(str(tmp_path), 'tok0', 1, 'teacher-a', META, 'img-a')
    with pytest.raises(TeacherCacheError, match=f'{path}: made from other'):
        read_sample(str(tmp_path), 'tok0', 1, 'teacher-a', META, 'img-b')


def test_stale_reason_names_what_differs(tmp_path):
    path = write(tmp_path)
    assert stale_reason(path, 'tok0', 'teacher-a', 'img-a') is None
    assert 'token' in stale_reason(path, 'tok1', 'teacher-a', 'img-a')
    assert 'teacher_key' in stale_reason(path, 'tok0', 'teacher-b', 'img-a')
    assert 'image_fingerprint' in stale_reason(path, 'tok0', 'teacher-a',
                                               'img-b')
    assert stale_reason(str(tmp_path / 'none.npz'), 'tok0', 'a',
                        'b') == 'missing'


def test_image_fingerprint_follows_bytes_and_order(tmp_path):
    a, b = tmp_path / 'a.jpg', tmp_path / 'b.jpg'
    a.write_bytes(b'front')
    b.write_bytes(b'back')
    first = image_fingerprint([str(a), str(b)])
    assert image_fingerprint([str(a), str(b)]) == first
    assert image_fingerprint([str(b), str(a)]) != first
    a.write_bytes(b'fronT')
    assert image_fingerprint([str(a), str(b)]) != first
