# Copyright (c) HilDA authors. All rights reserved.
"""Teacher-feature cache: tools/cache_teacher_features.py writes it,
LoadTeacherFeatures reads it, the pre-trainer uses it instead of the
teacher; on the tiny demo world with the real EfficientNet-Lite0."""
import copy
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmdet3d.registry import DATASETS, MODELS
from mmengine.dataset import pseudo_collate

from projects.HilDA.hilda.apis import ConfigError, load_config
from projects.HilDA.hilda.datasets.teacher_cache import (TeacherCacheError,
                                                         read_meta,
                                                         sample_file)
from tests.conftest import REPO_ROOT, load_tool
from tests.helpers.tiny_demo_world import tiny_demo_root

CONFIG = osp.join(
    REPO_ROOT, 'configs', 'hilda',
    'hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py')
IMAGE_STEPS = [
    dict(type='LoadCheckedMultiViewImages', num_views=6),
    dict(type='MultiViewImageAug', final_size=(224, 392), crop='center'),
]


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    """(cache dir, config) of the tiny demo world, written by the tool."""
    out_dir = str(tmp_path_factory.mktemp('teacher_cache') / 'cache')
    root = tiny_demo_root() + '/'
    options = [f'train_dataloader.dataset.data_root={root}']
    tool = load_tool('cache_teacher_features.py')
    tool.main([CONFIG, '--out-dir', out_dir, '--cfg-options', *options])
    cfg = load_config(CONFIG)
    cfg.train_dataloader.dataset.data_root = root
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'LoadTeacherFeatures':
            step['cache_dir'] = out_dir
    return out_dir, cfg


def dataset_with(cfg, pipeline):
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.pipeline = pipeline
    return DATASETS.build(dataset_cfg)


def step(cfg, type_name):
    return next(t for t in cfg.train_dataloader.dataset.pipeline
                if t['type'] == type_name)


def run_cache_tool(capsys, out_dir, *args, data_root=None):
    """tools/cache_teacher_features.py writing ``out_dir`` from the tiny
    demo world (or a copy at ``data_root``); returns what it printed."""
    root = data_root or tiny_demo_root()
    capsys.readouterr()
    load_tool('cache_teacher_features.py').main([
        CONFIG, '--out-dir', out_dir, *args, '--cfg-options',
        f'train_dataloader.dataset.data_root={root}/'
    ])
    return capsys.readouterr().out


def reader_of_a_copy(out_dir, cfg, tmp_path):
    """A copy of the cache under ``tmp_path`` (a test may damage it) and
    the data set whose pipeline only reads it."""
    copy_dir = str(tmp_path / 'cache')
    shutil.copytree(out_dir, copy_dir)
    return copy_dir, dataset_with(
        cfg, [dict(step(cfg, 'LoadTeacherFeatures'), cache_dir=copy_dir)])


def geometry_pipeline(cfg, image_steps):
    return [
        step(cfg, 'LoadCheckedPointsFromFile'), *image_steps,
        step(cfg, 'ProjectPointsToImages')
    ]


def test_tool_writes_one_float16_file_per_sample(cache):
    out_dir, cfg = cache
    meta = read_meta(out_dir)
    dataset = dataset_with(cfg, [])
    assert meta['final_size'] == [224, 392]
    assert meta['teacher']['out_channels'] == [112, 320]
    for i in range(len(dataset)):
        path = sample_file(out_dir, dataset.get_data_info(i)['token'])
        with np.load(path) as data:
            assert data['feat_0'].dtype == np.float16
            # 6 cameras, stride 16 of the 224 x 392 input (the demo's
            # teacher gives its last two levels, the paper's K = 1)
            assert data['feat_0'].shape == (6, 112, 14, 25)
            assert data['cls'].shape == (6, 1280)


def test_cache_geometry_equals_the_image_pipeline(cache):
    out_dir, cfg = cache
    with_images = dataset_with(cfg, geometry_pipeline(cfg, IMAGE_STEPS))[0]
    cached = dataset_with(
        cfg, geometry_pipeline(cfg, [step(cfg, 'LoadTeacherFeatures')]))[0]
    assert 'img' not in cached  # nothing decoded
    np.testing.assert_allclose(cached['lidar2img'], with_images['lidar2img'])
    np.testing.assert_array_equal(cached['img_shapes'],
                                  with_images['img_shapes'])
    for key in ('pair_point_idx', 'pair_cam_idx', 'pair_uv'):
        np.testing.assert_array_equal(cached[key], with_images[key])


def build_model(cfg, **teacher):
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.teacher.update(teacher)
    return MODELS.build(model_cfg).eval()


def batch(model, dataset):
    return model.data_preprocessor(
        pseudo_collate([dataset[0], dataset[1]]), training=False)


def cached_batch(model, cfg):
    """:func:`batch` of the features read from the cache (no images)."""
    return batch(
        model,
        dataset_with(
            cfg,
            [step(cfg, 'LoadTeacherFeatures'),
             step(cfg, 'PackHilDAInputs')]))


def test_cached_features_equal_the_live_teacher(cache):
    _, cfg = cache
    model = build_model(cfg)
    live_steps = [*IMAGE_STEPS, step(cfg, 'PackHilDAInputs')]
    live = batch(model, dataset_with(cfg, live_steps))
    cached = cached_batch(model, cfg)
    feats, cls, size = model.teacher_outputs(live['inputs'],
                                             live['data_samples'])
    c_feats, c_cls, c_size = model.teacher_outputs(cached['inputs'],
                                                   cached['data_samples'])
    assert c_size == size == (224, 392)
    for level, (a, b) in enumerate(zip(feats, c_feats)):
        assert a.shape == b.shape
        # float16 storage: relative error of about 1e-3
        err = (a - b).abs().max() / a.abs().max()
        assert err < 5e-3, (level, err)
    torch.testing.assert_close(c_cls, cls, rtol=5e-3, atol=5e-3)


def test_training_step_on_the_cache_never_runs_the_teacher(cache):
    _, cfg = cache
    model = build_model(cfg).train()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)

    def refuse(*args, **kwargs):
        raise AssertionError('the teacher ran')

    model.teacher.forward = refuse
    data = model.data_preprocessor(
        pseudo_collate([dataset[0], dataset[1]]), training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_distill_l0', 'loss_cls', 'loss_diffusion'} <= set(losses)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.student.parameters()]
    assert all(g is not None for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


def test_a_teacher_with_fewer_levels_reads_its_levels(cache):
    _, cfg = cache
    cfg = copy.deepcopy(cfg)
    cfg.model.student.num_levels = 1
    model = build_model(cfg, num_levels=1)
    data = cached_batch(model, cfg)
    feats, _, _ = model.teacher_outputs(data['inputs'], data['data_samples'])
    assert len(feats) == 1
    assert feats[0] is data['inputs']['teacher_feats'][-1]


def test_features_of_another_teacher_are_refused(cache):
    _, cfg = cache
    model = build_model(cfg, checkpoint=None)  # random weights
    data = cached_batch(model, cfg)
    with pytest.raises(ValueError, match='re-run tools/cache_teacher'):
        model.teacher_outputs(data['inputs'], data['data_samples'])


def test_augmented_images_are_refused(cache):
    _, cfg = cache
    augmented = [
        IMAGE_STEPS[0],
        dict(
            type='MultiViewImageAug',
            final_size=(224, 392),
            resize_range=(1.0, 1.2),
            flip_ratio=0.5),
        step(cfg, 'LoadTeacherFeatures'),
    ]
    with pytest.raises(TeacherCacheError, match='image augmentation'):
        dataset_with(cfg, augmented)[0]


def test_missing_sample_file_is_named(cache, tmp_path):
    out_dir, cfg = cache
    copy_dir, dataset = reader_of_a_copy(out_dir, cfg, tmp_path)
    missing = sample_file(copy_dir, dataset.get_data_info(0)['token'])
    os.remove(missing)
    with pytest.raises(TeacherCacheError, match=missing):
        dataset[0]


def test_rerun_skips_cached_samples_and_refuses_another_size(cache, capsys):
    out_dir, _ = cache
    out = run_cache_tool(capsys, out_dir)
    assert '0 samples written, 3 already cached' in out
    with pytest.raises(ConfigError, match='--overwrite'):
        run_cache_tool(capsys, out_dir, '--image-size', '112', '196')


def test_interrupted_rebuild_for_another_teacher_is_not_mixed(
        cache, tmp_path, capsys):
    """A rebuild for another teacher killed part-way leaves files of the
    old teacher under the new meta.json: reading one is an error naming
    it, and the documented resume (rerun without --overwrite) recomputes
    exactly those instead of reporting them cached."""
    out_dir, cfg = cache
    copy_dir, dataset = reader_of_a_copy(out_dir, cfg, tmp_path)
    stale = sample_file(copy_dir, dataset.get_data_info(1)['token'])
    with np.load(stale) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez(stale, **dict(arrays, teacher_key=np.asarray('old-teacher')))
    with pytest.raises(TeacherCacheError) as err:
        dataset[1]
    assert stale in str(err.value) and 'old-teacher' in str(err.value)

    out = run_cache_tool(capsys, copy_dir)
    assert '1 samples written, 2 already cached' in out
    assert dataset[1]['teacher_cache_key'] == read_meta(
        copy_dir)['teacher_key']


def test_duplicate_tokens_are_cached_and_counted_once(cache, capsys):
    out_dir, cfg = cache
    ann_file = cfg.train_dataloader.dataset.ann_file
    out = run_cache_tool(capsys, out_dir, '--ann-file', ann_file, ann_file)
    assert '0 samples written, 3 already cached' in out, out
    assert '3 samples repeat a token already cached' in out, out


def test_file_of_another_sample_is_refused_and_recomputed(
        cache, tmp_path, capsys):
    """A cache file copied under another token's name used to train, and
    the tool reported it already cached."""
    out_dir, cfg = cache
    copy_dir, dataset = reader_of_a_copy(out_dir, cfg, tmp_path)
    tokens = [dataset.get_data_info(i)['token'] for i in range(2)]
    wrong = sample_file(copy_dir, tokens[0])
    shutil.copy(sample_file(copy_dir, tokens[1]), wrong)
    with pytest.raises(TeacherCacheError) as err:
        dataset[0]
    assert wrong in str(err.value)
    assert f'holds the features of sample {tokens[1]}' in str(err.value)

    out = run_cache_tool(capsys, copy_dir)
    assert '1 samples written, 2 already cached' in out, out
    assert '1 existing files were recomputed' in out, out
    assert dataset[0]['token'] == tokens[0]


def test_changed_images_are_recomputed_and_can_be_verified(
        cache, tmp_path, capsys):
    out_dir, cfg = cache
    root = str(tmp_path / 'data')
    shutil.copytree(tiny_demo_root(), root)
    copy_dir = str(tmp_path / 'cache')
    shutil.copytree(out_dir, copy_dir)
    reader = dict(
        step(cfg, 'LoadTeacherFeatures'),
        cache_dir=copy_dir,
        verify_images=True)
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.update(data_root=root + '/', pipeline=[reader])
    dataset = DATASETS.build(dataset_cfg)
    dataset[1]  # unchanged images pass
    image = dataset.get_data_info(1)['images']['CAM_BACK']['img_path']
    with open(image, 'ab') as f:  # same pixels, other bytes
        f.write(b'\0')
    with pytest.raises(TeacherCacheError, match='made from other images'):
        dataset[1]

    out = run_cache_tool(capsys, copy_dir, data_root=root)
    assert '1 samples written, 2 already cached' in out, out
    dataset[1]
