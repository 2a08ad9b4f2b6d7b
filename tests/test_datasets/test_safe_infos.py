# Copyright (c) HilDA authors. All rights reserved.
"""Info files cannot run code on loading, and cannot name files outside
the data root."""
import json
import os
import os.path as osp
import pickle

import mmengine
import numpy as np
import pytest

from projects.HilDA.hilda.datasets import InfoFileError
from projects.HilDA.hilda.datasets.safe_infos import (UnsafeInfoError,
                                                      check_paths_inside,
                                                      load_info_file)
from tests.helpers.synthetic_nuscenes import hilda_dataset, write_sequence


class Payload:
    """Creates a file when unpickled (stands for any code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_payload_is_refused_and_does_not_run(tmp_path):
    marker = str(tmp_path / 'ran')
    path = str(tmp_path / 'infos.pkl')
    with open(path, 'wb') as f:
        pickle.dump(dict(metainfo={}, data_list=[Payload(marker)]), f)
    with pytest.raises(UnsafeInfoError) as err:
        load_info_file(path)
    assert str(err.value).startswith(f'{path}: the info file asks the '
                                     'unpickler for io.open')
    assert not osp.exists(marker)
    # What plain pickle (mmengine.load) does with the same file.
    load_info_file(path, allow_unsafe_pickle=True)
    assert osp.exists(marker)


def test_numpy_and_plain_values_load(tmp_path):
    content = dict(
        metainfo=dict(version='v', classes=('a', 'b')),
        data_list=[
            dict(
                token='t',
                pose=np.eye(4),
                count=np.int64(3),
                flag=np.bool_(True),
                ids={1, 2},
                mask=np.zeros(3, dtype=np.uint8))
        ])
    path = str(tmp_path / 'infos.pkl')
    mmengine.dump(content, path)
    loaded = load_info_file(path)
    info = loaded['data_list'][0]
    np.testing.assert_array_equal(info['pose'], np.eye(4))
    assert info['count'] == 3 and info['ids'] == {1, 2}
    assert loaded['metainfo'] == content['metainfo']


@pytest.mark.parametrize('path', ['../../etc/passwd', '/etc/passwd'])
def test_paths_outside_the_root_are_refused(tmp_path, path):
    info = dict(token='tok0', lidar_points=dict(lidar_path=path))
    with pytest.raises(InfoFileError) as err:
        check_paths_inside(info, str(tmp_path), 'infos.pkl')
    assert str(err.value) == (
        f'infos.pkl: sample tok0: lidar_points.lidar_path {path} is outside '
        f'the data root {tmp_path}; info files may only name files under it '
        '(set allow_paths_outside_data_root=True on the dataset to allow '
        'others)')


def test_paths_inside_the_root_pass(tmp_path):
    check_paths_inside(
        dict(
            lidar_points=dict(lidar_path=str(tmp_path / 'a' / '..' / 'b')),
            images=dict(CAM=dict(img_path='samples/x.png'))), str(tmp_path),
        'infos.pkl')


def test_dataset_refuses_a_planted_path_unless_allowed(tmp_path):
    root = tmp_path / 'root'
    root.mkdir()
    info_path, _, _ = write_sequence(str(root), num_frames=2)
    content = mmengine.load(info_path)
    outside = tmp_path / 'planted.bin'
    os.rename(root / 'lidar_1.bin', outside)
    content['data_list'][1]['lidar_points']['lidar_path'] = '../planted.bin'
    mmengine.dump(content, info_path)
    with pytest.raises(
            InfoFileError,
            match='sample tok1: .*lidar_path '
            r'\S*planted.bin is outside the data root'):
        hilda_dataset(root, info_path, [])
    dataset = hilda_dataset(
        root, info_path, [], allow_paths_outside_data_root=True)
    assert dataset.get_data_info(1)['lidar_points']['lidar_path'] == str(
        root / '../planted.bin')


def test_dataset_reads_json_infos_like_pkl(tmp_path):
    info_path, _, _ = write_sequence(str(tmp_path), num_frames=3)
    json_path = str(tmp_path / 'infos.json')
    with open(json_path, 'w') as f:
        json.dump(mmengine.load(info_path), f)
    from_pkl = hilda_dataset(tmp_path, info_path, [])
    from_json = hilda_dataset(tmp_path, json_path, [])
    assert len(from_json) == len(from_pkl) == 3
    a, b = from_pkl.get_data_info(1), from_json.get_data_info(1)
    assert a['lidar_points'] == b['lidar_points']
    np.testing.assert_array_equal(a['temporal']['prev']['lidar2t0'],
                                  b['temporal']['prev']['lidar2t0'])


def test_dataset_refuses_an_unsafe_pkl_naming_it(tmp_path):
    marker = str(tmp_path / 'ran')
    path = str(tmp_path / 'infos.pkl')
    with open(path, 'wb') as f:
        pickle.dump(
            dict(
                metainfo=dict(info_version='1.1'),
                data_list=[Payload(marker)]), f)
    with pytest.raises(UnsafeInfoError, match=f'^{path}: '):
        hilda_dataset(tmp_path, path, [])
    assert not osp.exists(marker)
