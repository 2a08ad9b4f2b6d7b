# Copyright (c) HilDA authors. All rights reserved.
"""nuScenes infos with temporal links, from a tiny fake nuScenes tree.

The fake tree has two scenes (``scene-0061`` of mini_train, ``scene-0103``
of mini_val) with three keyframes each, one LiDAR sweep between keyframes,
six cameras and a few boxes. Its calibrations are simple on purpose
(rotations about z by multiples of 90 degrees plus the fixed camera axes) so
that the expected matrices and boxes below can be checked by hand; they are
built here from rotation matrices, independently of the converter.
"""
import json
import math
import os
import os.path as osp
import pickle
import shutil

import mmengine
import numpy as np
import pytest
from pyquaternion import Quaternion

from projects.HilDA.hilda.datasets.converters import (CAMERA_TYPES,
                                                      NuScenesInfoError,
                                                      create_nuscenes_infos)
from tests.conftest import load_tool

VERSION = 'v1.0-mini'
SCENES = ('scene-0061', 'scene-0103')  # mini_train, mini_val
KEYFRAME_US = 500_000  # 2 Hz keyframes
# Camera axes (x right, y down, z forward) in the ego frame of a camera
# looking along ego +x: z_cam -> x_ego, x_cam -> -y_ego, y_cam -> -z_ego.
CAM_AXES = np.array([[0., 0., 1.], [-1., 0., 0.], [0., -1., 0.]])
CAM_YAWS = dict(
    CAM_FRONT=0.,
    CAM_FRONT_RIGHT=-90.,
    CAM_FRONT_LEFT=90.,
    CAM_BACK=180.,
    CAM_BACK_LEFT=90.,
    CAM_BACK_RIGHT=-90.)
LIDAR_T = np.array([1., 0., 2.])
LIDAR_YAW = 90.
EGO_YAW = 0.
# Sweep ego poses are turned and moved, so lidar2sensor has a rotation.
SWEEP_YAW = 90.
SWEEP_SHIFT = np.array([5., 0., 0.])
CAM_SHIFT = np.array([0.5, 0., 0.])  # scene 1: camera poses off the LiDAR's


def rot_z(deg):
    """Rotation matrix about z, written out (no quaternion code)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.], [s, c, 0.], [0., 0., 1.]])


def pose(rotation, translation):
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = translation
    return matrix


def quat(rotation):
    """The tables store quaternions; the expectations use the matrices."""
    return list(Quaternion(matrix=rotation).elements)


def cam_rotation(cam):
    return rot_z(CAM_YAWS[cam]) @ CAM_AXES


def cam_translation(cam):
    return np.array([1.5, 0.1 * CAMERA_TYPES.index(cam), 1.5])


def intrinsic(cam):
    return [[1000. + CAMERA_TYPES.index(cam), 0., 800.], [0., 1000., 450.],
            [0., 0., 1.]]


def ego_translation(scene, frame):
    """Ego position at a keyframe (the sweep after it: + SWEEP_SHIFT)."""
    return np.array([100. + 10. * frame, 200. + 50. * scene, 0.])


def sweep_name(scene, frame):
    return f'sw{scene}{frame}'


def build_fake_nuscenes(root):
    """Write the tables and the few files the devkit and converter read."""
    tables = {
        name: []
        for name in [
            'category', 'attribute', 'visibility', 'instance', 'sensor',
            'calibrated_sensor', 'ego_pose', 'log', 'scene', 'sample',
            'sample_data', 'sample_annotation', 'map', 'lidarseg'
        ]
    }
    # lidarseg needs the lidarseg category table ('index') with names the
    # devkit's colormap knows.
    for index, name in [(0, 'noise'), (1, 'animal'),
                        (2, 'human.pedestrian.adult'), (17, 'vehicle.car')]:
        tables['category'].append(
            dict(token=f'cat-{name}', name=name, description='', index=index))
    tables['visibility'].append(
        dict(token='4', level='v80-100', description=''))

    def add_sensor(channel, modality, rotation, translation, camera_k):
        tables['sensor'].append(
            dict(
                token=f'sensor-{channel}', channel=channel, modality=modality))
        tables['calibrated_sensor'].append(
            dict(
                token=f'cs-{channel}',
                sensor_token=f'sensor-{channel}',
                translation=list(translation),
                rotation=quat(rotation),
                camera_intrinsic=camera_k))

    add_sensor('LIDAR_TOP', 'lidar', rot_z(LIDAR_YAW), LIDAR_T, [])
    for cam in CAMERA_TYPES:
        add_sensor(cam, 'camera', cam_rotation(cam), cam_translation(cam),
                   intrinsic(cam))

    def add_sample_data(token, sample, channel, timestamp, key, filename,
                        ego_rotation, ego_t, prev, next_):
        tables['ego_pose'].append(
            dict(
                token=f'ep-{token}',
                timestamp=timestamp,
                rotation=quat(ego_rotation),
                translation=list(ego_t)))
        tables['sample_data'].append(
            dict(
                token=token,
                sample_token=sample,
                ego_pose_token=f'ep-{token}',
                calibrated_sensor_token=f'cs-{channel}',
                timestamp=timestamp,
                fileformat=filename.rsplit('.', 1)[-1],
                is_key_frame=key,
                # CAM_BACK at another size, to see each camera's own.
                height=(720 if channel == 'CAM_BACK' else 900)
                if 'CAM' in channel else 0,
                width=(1280 if channel == 'CAM_BACK' else 1600)
                if 'CAM' in channel else 0,
                filename=filename,
                prev=prev,
                next=next_))

    for scene, scene_name in enumerate(SCENES):
        log = f'log{scene}'
        tables['log'].append(
            dict(
                token=log,
                logfile=log,
                vehicle='n000',
                date_captured='',
                location='boston-seaport'))
        samples = [f's{scene}{frame}' for frame in range(3)]
        tables['scene'].append(
            dict(
                token=f'scene{scene}',
                log_token=log,
                nbr_samples=3,
                first_sample_token=samples[0],
                last_sample_token=samples[-1],
                name=scene_name,
                description=''))
        # LiDAR readings in time order: keyframe 0, sweep, keyframe 1, ...
        lidar = []
        for frame, sample in enumerate(samples):
            timestamp = (scene + 1) * 10**9 + frame * KEYFRAME_US
            tables['sample'].append(
                dict(
                    token=sample,
                    timestamp=timestamp,
                    scene_token=f'scene{scene}',
                    prev=samples[frame - 1] if frame > 0 else '',
                    next=samples[frame + 1] if frame < 2 else ''))
            ego_t = ego_translation(scene, frame)
            lidar.append((f'l-{sample}', sample, timestamp, ego_t))
            if frame < 2:
                lidar.append(
                    (sweep_name(scene, frame), sample,
                     timestamp + KEYFRAME_US // 2, ego_t + SWEEP_SHIFT))
            for cam in CAMERA_TYPES:
                ts = timestamp + 10 * CAMERA_TYPES.index(cam)
                add_sample_data(
                    f'{cam}-{sample}', sample, cam, ts, True,
                    f'samples/{cam}/n000-{scene}__{cam}__{ts}.jpg',
                    rot_z(EGO_YAW), ego_t + CAM_SHIFT * scene,
                    f'{cam}-{samples[frame - 1]}' if frame > 0 else '',
                    f'{cam}-{samples[frame + 1]}' if frame < 2 else '')
        chain = [''] + [token for token, *_ in lidar] + ['']
        for pos, (token, sample, ts, ego_t) in enumerate(lidar, 1):
            is_key = token.startswith('l-')
            name = f'n{scene}__LIDAR_TOP__{ts}.pcd.bin'
            folder = 'samples' if is_key else 'sweeps'
            add_sample_data(token, sample, 'LIDAR_TOP', ts, is_key,
                            f'{folder}/LIDAR_TOP/{name}',
                            rot_z(EGO_YAW if is_key else SWEEP_YAW), ego_t,
                            chain[pos - 1], chain[pos + 1])

    # Scene 0: a car seen at keyframes 0 and 1 (moving +1 m along global x
    # in 0.5 s), an empty pedestrian box and an animal (no detection class).
    def add_box(token,
                sample,
                instance,
                translation,
                yaw,
                size,
                lidar_pts,
                prev='',
                next_=''):
        tables['sample_annotation'].append(
            dict(
                token=token,
                sample_token=sample,
                instance_token=instance,
                visibility_token='4',
                attribute_tokens=[],
                translation=translation,
                size=size,
                rotation=quat(rot_z(yaw)),
                prev=prev,
                next=next_,
                num_lidar_pts=lidar_pts,
                num_radar_pts=0))

    add_box(
        'car0',
        's00',
        'inst-car', [101., 210., 3.],
        120., [2., 4., 1.5],
        50,
        next_='car1')
    add_box(
        'car1',
        's01',
        'inst-car', [102., 210., 3.],
        120., [2., 4., 1.5],
        40,
        prev='car0')
    add_box('ped0', 's00', 'inst-ped', [95., 205., 2.], 0., [.6, .7, 1.8], 0)
    add_box('dog0', 's00', 'inst-dog', [95., 195., 2.], 0., [.3, .8, .5], 2)
    for inst, cat, anns in [('inst-car', 'vehicle.car', ['car0', 'car1']),
                            ('inst-ped', 'human.pedestrian.adult', ['ped0']),
                            ('inst-dog', 'animal', ['dog0'])]:
        tables['instance'].append(
            dict(
                token=inst,
                category_token=f'cat-{cat}',
                nbr_annotations=len(anns),
                first_annotation_token=anns[0],
                last_annotation_token=anns[-1]))

    tables['map'].append(
        dict(
            token='map0',
            log_tokens=['log0', 'log1'],
            category='semantic_prior',
            filename='maps/fake.png'))
    # nuScenes-lidarseg labels for one keyframe only (s01's LiDAR).
    tables['lidarseg'].append(
        dict(
            token='l-s01',
            sample_data_token='l-s01',
            filename=f'lidarseg/{VERSION}/l-s01_lidarseg.bin'))

    os.makedirs(osp.join(root, VERSION))
    for name, records in tables.items():
        with open(osp.join(root, VERSION, f'{name}.json'), 'w') as f:
            json.dump(records, f)
    # The devkit checks that the map mask and the lidarseg files exist; the
    # converter checks the keyframe LiDAR files. Contents are not read.
    files = ['maps/fake.png', tables['lidarseg'][0]['filename']] + [
        rec['filename'] for rec in tables['sample_data']
        if rec['is_key_frame'] and 'LIDAR' in rec['filename']
    ]
    for name in files:
        os.makedirs(osp.dirname(osp.join(root, name)), exist_ok=True)
        open(osp.join(root, name), 'wb').close()
    return root


@pytest.fixture(scope='module')
def nus_root(tmp_path_factory):
    return build_fake_nuscenes(str(tmp_path_factory.mktemp('nus') / 'nus'))


@pytest.fixture(scope='module')
def infos(nus_root, tmp_path_factory):
    """Infos written through the command-line entry point."""
    out_dir = str(tmp_path_factory.mktemp('infos'))
    load_tool('create_hilda_infos.py').main([
        '--root-path', nus_root, '--version', VERSION, '--out-dir', out_dir,
        '--extra-tag', 'hilda', '--max-sweeps', '10'
    ])
    assert sorted(os.listdir(out_dir)) == [
        'hilda_infos_train.pkl', 'hilda_infos_val.pkl'
    ]
    return {
        split: mmengine.load(osp.join(out_dir, f'hilda_infos_{split}.pkl'))
        for split in ('train', 'val')
    }


def by_token(infos):
    return {
        info['token']: info
        for split in infos.values()
        for info in split['data_list']
    }


def test_metainfo_and_split_by_scene(infos):
    for split in ('train', 'val'):
        meta = infos[split]['metainfo']
        assert meta['categories'] == {
            name: i
            for i, name in enumerate([
                'car', 'truck', 'trailer', 'bus', 'construction_vehicle',
                'bicycle', 'motorcycle', 'pedestrian', 'traffic_cone',
                'barrier'
            ])
        }
        assert meta['dataset'] == 'nuscenes' and meta['version'] == VERSION
        assert meta['info_version'] == '1.1'
        assert meta['hilda_temporal_links'] is True
    # scene-0061 is mini_train, scene-0103 mini_val.
    for split, scene in [('train', 0), ('val', 1)]:
        data_list = infos[split]['data_list']
        assert [info['token'] for info in data_list
                ] == [f's{scene}{frame}' for frame in range(3)]
        assert [info['sample_idx'] for info in data_list] == [0, 1, 2]
        assert {info['scene_token'] for info in data_list} == {f'scene{scene}'}
        assert data_list[1]['timestamp'] == pytest.approx(
            ((scene + 1) * 10**9 + KEYFRAME_US) / 1e6)


def test_prev_next_chain_stays_in_scene(infos):
    for split in infos.values():
        data_list = split['data_list']
        tokens = {info['token'] for info in data_list}
        assert data_list[0]['prev'] == '' and data_list[-1]['next'] == ''
        for cur, nxt in zip(data_list[:-1], data_list[1:]):
            assert cur['next'] == nxt['token'] and nxt['prev'] == cur['token']
        # No link leaves the scene (hence the split).
        for info in data_list:
            assert {info['prev'], info['next']} - {''} <= tokens


def test_calibration_matrices(infos):
    lidar2ego = pose(rot_z(LIDAR_YAW), LIDAR_T)
    for token, info in by_token(infos).items():
        scene, frame = int(token[1]), int(token[2])
        ego2global = pose(rot_z(EGO_YAW), ego_translation(scene, frame))
        np.testing.assert_allclose(info['ego2global'], ego2global, atol=1e-9)
        np.testing.assert_allclose(
            info['lidar_points']['lidar2ego'], lidar2ego, atol=1e-9)
        assert info['lidar_points']['num_pts_feats'] == 5
        assert list(info['images']) == list(CAMERA_TYPES)
        for cam, img in info['images'].items():
            cam2ego = pose(cam_rotation(cam), cam_translation(cam))
            np.testing.assert_allclose(img['cam2ego'], cam2ego, atol=1e-9)
            np.testing.assert_allclose(img['cam2img'], intrinsic(cam))
            if scene == 0:
                # Same ego pose for LiDAR and camera: global drops out.
                expected = np.linalg.inv(cam2ego) @ lidar2ego
            else:
                cam_ego2global = pose(
                    rot_z(EGO_YAW),
                    ego_translation(scene, frame) + CAM_SHIFT)
                expected = np.linalg.inv(
                    cam_ego2global @ cam2ego) @ ego2global @ lidar2ego
            np.testing.assert_allclose(img['lidar2cam'], expected, atol=1e-9)
            assert img['sample_data_token'] == f'{cam}-{token}'
    # By hand: the LiDAR origin sits at ego (1, 0, 2); CAM_FRONT at ego
    # (1.5, 0, 1.5) looks along ego +x, so the origin is 0.5 m behind it
    # (z_cam = -0.5), 0.5 m above it (y_cam = -0.5, y points down) and
    # centred (x_cam = 0).
    front = by_token(infos)['s00']['images']['CAM_FRONT']['lidar2cam']
    np.testing.assert_allclose(
        np.array(front)[:3, 3], [0., -0.5, -0.5], atol=1e-9)
    # LiDAR x (ego +y, the car's left) is the camera's -x (image left).
    np.testing.assert_allclose(
        np.array(front)[:3, 0], [-1., 0., 0.], atol=1e-9)


def test_each_camera_records_its_image_size(infos):
    """``images[CAM]`` carries sample_data's width/height, per camera."""
    for info in by_token(infos).values():
        sizes = {
            cam: (img['width'], img['height'])
            for cam, img in info['images'].items()
        }
        assert sizes.pop('CAM_BACK') == (1280, 720)
        assert set(sizes.values()) == {(1600, 900)}
        assert all(
            type(img['width']) is int and type(img['height']) is int
            for img in info['images'].values())


def test_boxes_in_lidar_frame(infos):
    instances = by_token(infos)['s00']['instances']
    car, ped, dog = instances
    # LiDAR at global (101, 200, 2) with its x axis along global +y (yaw
    # 0 + 90 degrees): the car at global (101, 210, 3) is 10 m along LiDAR
    # x, 1 m up; its global yaw 120 degrees is 30 degrees in the LiDAR
    # frame. Size wlh (2, 4, 1.5) becomes lwh (4, 2, 1.5); z is the box
    # centre, as mmdet3d's infos keep it.
    np.testing.assert_allclose(
        car['bbox_3d'], [10., 0., 1., 4., 2., 1.5, math.pi / 6], atol=1e-9)
    assert car['bbox_label'] == car['bbox_label_3d'] == 0
    # +1 m along global x in 0.5 s is 2 m/s along LiDAR -y.
    np.testing.assert_allclose(car['velocity'], [0., -2.], atol=1e-9)
    assert car['bbox_3d_isvalid'] is True
    assert car['num_lidar_pts'] == 50 and car['num_radar_pts'] == 0
    assert ped['bbox_label'] == 7 and ped['bbox_3d_isvalid'] is False
    assert dog['bbox_label'] == dog['bbox_label_3d'] == -1
    assert np.isnan(dog['velocity']).all()  # a single annotation
    assert by_token(infos)['s02']['instances'] == []


def test_paths_and_sweeps(infos):
    tokens = by_token(infos)
    for token, info in tokens.items():
        assert '/' not in info['lidar_points']['lidar_path']
        assert info['lidar_points']['lidar_path'].endswith('.pcd.bin')
        for img in info['images'].values():
            assert '/' not in img['img_path'] and img['img_path'].endswith(
                '.jpg')
    # nuScenes-lidarseg labels exist for s01 only.
    assert tokens['s01']['pts_semantic_mask_path'] == 'l-s01_lidarseg.bin'
    assert [t for t, i in tokens.items()
            if 'pts_semantic_mask_path' in i] == ['s01']

    # First keyframe: nothing earlier. s02: sweep, keyframe s01, sweep, s00.
    assert 'lidar_sweeps' not in tokens['s00']
    sweeps = tokens['s02']['lidar_sweeps']
    assert [s['sample_data_token']
            for s in sweeps] == ['sw01', 'l-s01', 'sw00', 'l-s00']
    # Relative to the root, so mmdet3d picks its pts/sweeps prefix.
    assert sweeps[0]['lidar_points']['lidar_path'].startswith(
        'sweeps/LIDAR_TOP/')
    assert sweeps[1]['lidar_points']['lidar_path'].startswith(
        'samples/LIDAR_TOP/')
    key2global = pose(rot_z(EGO_YAW), ego_translation(0, 2)) @ pose(
        rot_z(LIDAR_YAW), LIDAR_T)
    sweep_ego2global = pose(
        rot_z(SWEEP_YAW),
        ego_translation(0, 1) + SWEEP_SHIFT)
    np.testing.assert_allclose(
        sweeps[0]['ego2global'], sweep_ego2global, atol=1e-9)
    expected = np.linalg.inv(
        sweep_ego2global @ pose(rot_z(LIDAR_YAW), LIDAR_T)) @ key2global
    np.testing.assert_allclose(
        sweeps[0]['lidar_points']['lidar2sensor'], expected, atol=1e-9)
    assert sweeps[0]['timestamp'] == pytest.approx(
        (10**9 + KEYFRAME_US + KEYFRAME_US // 2) / 1e6)


def test_pickle_round_trip_and_plain_types(infos, tmp_path):

    def check_plain(value, where):
        assert not isinstance(value, (np.ndarray, np.generic)), where
        if isinstance(value, dict):
            for key, item in value.items():
                check_plain(item, f'{where}.{key}')
        elif isinstance(value, (list, tuple)):
            for item in value:
                check_plain(item, where)

    check_plain(infos['train'], 'train')
    path = str(tmp_path / 'copy.pkl')
    mmengine.dump(infos['train'], path)
    loaded = mmengine.load(path)
    with open(path, 'rb') as f:
        assert pickle.load(f).keys() == loaded.keys()
    assert loaded['data_list'][0]['token'] == 's00'
    assert loaded['metainfo'] == infos['train']['metainfo']


def test_mmdet3d_reads_the_infos(infos, nus_root, tmp_path):
    from mmdet3d.datasets import NuScenesDataset
    path = str(tmp_path / 'train.pkl')
    mmengine.dump(infos['train'], path)
    dataset = NuScenesDataset(
        data_root=nus_root,
        ann_file=path,
        data_prefix=dict(
            pts='samples/LIDAR_TOP',
            sweeps='sweeps/LIDAR_TOP',
            img='samples/CAM_FRONT'),
        modality=dict(use_lidar=True, use_camera=False),
        filter_empty_gt=False,
        serialize_data=False)
    info = dataset.get_data_info(2)
    assert info['lidar_points']['lidar_path'] == osp.join(
        nus_root, 'samples/LIDAR_TOP',
        infos['train']['data_list'][2]['lidar_points']['lidar_path'])
    sweep_paths = [
        s['lidar_points']['lidar_path'] for s in info['lidar_sweeps']
    ]
    assert sweep_paths[0].startswith(osp.join(nus_root, 'sweeps/LIDAR_TOP'))
    assert sweep_paths[1].startswith(osp.join(nus_root, 'samples/LIDAR_TOP'))
    boxes = dataset.get_data_info(0)['ann_info']['gt_bboxes_3d']
    # mmdet3d moves the stored centre to the bottom: 1 - 1.5 / 2.
    np.testing.assert_allclose(
        boxes.tensor[0, :3].numpy(), [10., 0., 0.25], atol=1e-5)


def test_max_sweeps_zero_and_test_version(nus_root, tmp_path):
    paths = create_nuscenes_infos(
        nus_root, VERSION, str(tmp_path), 'nus', max_sweeps=0, progress=False)
    assert set(paths) == {'train', 'val'}
    for path in paths.values():
        for info in mmengine.load(path)['data_list']:
            assert 'lidar_sweeps' not in info

    # The same tree as v1.0-test: test-split scene names, no annotations
    # and no lidarseg (as nuScenes ships it).
    test_root = str(tmp_path / 'test_root')
    shutil.copytree(nus_root, test_root)
    tables = osp.join(test_root, 'v1.0-test')
    os.rename(osp.join(test_root, VERSION), tables)
    os.remove(osp.join(tables, 'lidarseg.json'))
    with open(osp.join(tables, 'scene.json')) as f:
        scenes = json.load(f)
    for scene, name in zip(scenes, ['scene-0077', 'scene-0078']):
        scene['name'] = name
    for name, records in [('scene', scenes), ('sample_annotation', [])]:
        with open(osp.join(tables, f'{name}.json'), 'w') as f:
            json.dump(records, f)
    paths = create_nuscenes_infos(
        test_root, 'v1.0-test', str(tmp_path), 'nus', progress=False)
    assert list(paths) == ['test']
    assert paths['test'] == osp.join(str(tmp_path), 'nus_infos_test.pkl')
    data = mmengine.load(paths['test'])
    assert data['metainfo']['version'] == 'v1.0-test'
    data_list = data['data_list']
    assert [info['token'] for info in data_list
            ] == ['s00', 's01', 's02', 's10', 's11', 's12']
    assert [info['prev']
            for info in data_list] == ['', 's00', 's01', '', 's10', 's11']
    assert all(info['instances'] == [] for info in data_list)
    assert all('pts_semantic_mask_path' not in info for info in data_list)


def test_bad_inputs(nus_root, tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(
            NuScenesInfoError, match='root path not found.*'
            'nowhere'):
        create_nuscenes_infos(missing, VERSION, progress=False)
    with pytest.raises(
            NuScenesInfoError,
            match="unknown nuScenes version "
            "'v2.0'.*v1.0-trainval"):
        create_nuscenes_infos(nus_root, 'v2.0', progress=False)
    with pytest.raises(
            NuScenesInfoError, match='v1.0-trainval tables not found'):
        create_nuscenes_infos(nus_root, 'v1.0-trainval', progress=False)

    broken = str(tmp_path / 'broken')
    shutil.copytree(nus_root, broken)
    os.remove(osp.join(broken, VERSION, 'sample_annotation.json'))
    with pytest.raises(NuScenesInfoError) as error:
        create_nuscenes_infos(broken, VERSION, progress=False)
    assert osp.join(broken, VERSION,
                    'sample_annotation.json') in str(error.value)

    with open(osp.join(broken, VERSION, 'sample_annotation.json'), 'w') as f:
        f.write('{not json')
    with pytest.raises(NuScenesInfoError, match='could not load'):
        create_nuscenes_infos(broken, VERSION, progress=False)

    with open(osp.join(broken, VERSION, 'sample_annotation.json'), 'w') as f:
        f.write('[]')
    lidar_file = osp.join(
        broken, 'samples', 'LIDAR_TOP',
        sorted(os.listdir(osp.join(broken, 'samples', 'LIDAR_TOP')))[0])
    os.remove(lidar_file)
    with pytest.raises(NuScenesInfoError, match='LiDAR file not found'):
        create_nuscenes_infos(broken, VERSION, str(tmp_path), progress=False)
    create_nuscenes_infos(
        broken, VERSION, str(tmp_path), check_files=False, progress=False)


def test_cli_reports_one_line(tmp_path):
    # In-process (a subprocess would re-import the whole plugin): the tool's
    # __main__ hands main to run_tool, which turns the error into one line.
    tool = load_tool('create_hilda_infos.py')
    argv = ['--root-path', str(tmp_path / 'nowhere'), '--version', VERSION]
    with pytest.raises(SystemExit) as exit_info:
        tool.run_tool(lambda: tool.main(argv), 'create_hilda_infos.py')
    message = str(exit_info.value.code)
    assert '\n' not in message
    assert message.startswith('create_hilda_infos.py: error: nuScenes root '
                              'path not found'), message


def test_json_format_holds_the_same_infos(infos, nus_root, tmp_path):
    """--format json writes what the .pkl holds, in a format that cannot
    carry code; the plugin's info reader gives back the same content."""
    from projects.HilDA.hilda.datasets.safe_infos import load_info_file
    load_tool('create_hilda_infos.py').main([
        '--root-path', nus_root, '--version', VERSION, '--out-dir',
        str(tmp_path), '--extra-tag', 'hilda', '--max-sweeps', '10',
        '--format', 'json'
    ])
    assert sorted(os.listdir(tmp_path)) == [
        'hilda_infos_train.json', 'hilda_infos_val.json'
    ]

    def same(a, b):  # NaN (unknown velocities) != NaN: compare the text
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)

    for split in ('train', 'val'):
        path = str(tmp_path / f'hilda_infos_{split}.json')
        assert same(load_info_file(path), infos[split])
