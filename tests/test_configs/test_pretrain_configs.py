# Copyright (c) HilDA authors. All rights reserved.
"""Every shipped pre-training config loads, and its parts fit together."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from projects.HilDA.hilda.apis import imports_plugin
from tests.conftest import REPO_ROOT

PRETRAIN_CONFIGS = sorted(
    glob.glob(
        osp.join(REPO_ROOT, 'configs', 'hilda', '**', '*.py'), recursive=True))


def test_there_are_paper_demo_and_ablation_configs():
    names = [osp.basename(p) for p in PRETRAIN_CONFIGS]
    assert any(
        n.endswith('_nuscenes.py') and n.startswith('hilda_') for n in names)
    assert any(n.endswith('_demo.py') for n in names)
    for ablation in ('lastlevel', 'nocls', 'nodiff', 'masked', 'slidr',
                     'multilevel', 'lastlevel-diff', '4levels', 'onlylast',
                     'onlypenultimate', 'attnpool-cosinecls', 'epsonly',
                     'noground'):
        assert any(n.startswith(f'hilda-{ablation}_') for n in names)


@pytest.mark.parametrize('path', PRETRAIN_CONFIGS, ids=osp.basename)
def test_config_is_consistent(path):
    cfg = Config.fromfile(path)
    assert imports_plugin(cfg)
    model = cfg.model
    assert model.type == 'HilDAPretrainer'
    assert model.student.num_levels == model.teacher.num_levels
    pipeline = cfg.train_dataloader.dataset.pipeline
    types = [t['type'] for t in pipeline]
    assert types[-1] == 'PackHilDAInputs'
    temporal = cfg.train_dataloader.dataset.get('temporal', True)
    assert ('LoadTemporalPoints' in types) == temporal
    head = model.get('diffusion_head')
    if head:
        target = pipeline[types.index('BEVOccupancyTarget')]
        # The denoiser's grid is the target's grid.
        assert list(head.point_cloud_range) == list(
            target['point_cloud_range'])
        assert head.get('cell_size', 0.8) == target['cell_size']
        assert head.get('num_height_bins', 1) == target['num_height_bins']
        expected_source = 'points_next' if head.mode == 'temporal' \
            else 'points'
        assert target.get('source_key', 'points_next') == expected_source
        assert temporal == (head.mode == 'temporal')
    distill_loss = (model.get('distill_head') or {}).get('loss') or {}
    if distill_loss.get('type') == 'SuperpixelInfoNCELoss':
        assert 'ImageSuperpixels' in types


def test_demo_config_builds_with_the_offline_teacher():
    from mmdet3d.registry import MODELS
    demo = [p for p in PRETRAIN_CONFIGS if p.endswith('_demo.py')][0]
    model = MODELS.build(Config.fromfile(demo).model)
    assert type(model.teacher).__name__ == 'EfficientNetLiteTeacher'
    assert model.teacher.load_counts['missing'] == 0


@pytest.mark.parametrize('path', PRETRAIN_CONFIGS, ids=osp.basename)
def test_multi_gpu_configs_sync_the_batchnorms(path):
    """``{N}xb{B}`` configs with N > 1 set ``sync_bn`` (mmengine converts
    only in distributed runs); single-GPU ones do not."""
    gpus = int(re.search(r'_(\d+)xb\d+', osp.basename(path)).group(1))
    sync_bn = Config.fromfile(path).get('sync_bn')
    assert sync_bn == ('torch' if gpus > 1 else None)


def test_diffusion_ablations_change_only_their_option():
    """epsonly: lambda = 0; noground: the target keeps the ground; the
    paper config removes it and has lambda > 0."""

    def load(prefix):
        path = [
            p for p in PRETRAIN_CONFIGS
            if osp.basename(p).startswith(prefix) and 'nuscenes' in p
        ][0]
        cfg = Config.fromfile(path)
        target = [
            t for t in cfg.train_dataloader.dataset.pipeline
            if t['type'] == 'BEVOccupancyTarget'
        ][0]
        return cfg.model.diffusion_head, target

    head, target = load('hilda_minkunet34')
    assert head.x0_loss_weight > 0 and target.get('remove_ground', True)
    head, target = load('hilda-epsonly_')
    assert head.x0_loss_weight == 0 and target.get('remove_ground', True)
    head, target = load('hilda-noground_')
    assert head.x0_loss_weight > 0 and target['remove_ground'] is False


@pytest.mark.parametrize('name', ['hilda_nuscenes.py', 'hilda_demo.py'])
def test_occlusion_ground_is_the_plane_fit_and_the_target_keeps_patchworkpp(
        name):
    """The occlusion test's t0 ground is the project's plane fit; the
    paper's target removes the t+1 ground with Patchwork++."""
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', name))
    steps = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    project = steps['ProjectPointsToImages']
    assert project['occlusion'] == 'free_space'
    assert project['ground_segmenter'] == dict(
        type='PlaneFitGroundSegmenter', sensor_height=1.84)
    target = steps['BEVOccupancyTarget']['ground_segmenter']
    assert target['type'] == 'PatchworkPPGroundSegmenter'


# Steps a config changes on purpose: config name prefix -> step -> keys.
STEP_CHANGES = {
    'hilda-masked_': {
        'BEVOccupancyTarget': {'source_key'}
    },
    'hilda-noground_': {
        'BEVOccupancyTarget': {'remove_ground'}
    },
}


@pytest.mark.parametrize('path', PRETRAIN_CONFIGS, ids=osp.basename)
def test_pipeline_steps_are_the_dataset_base_steps(path):
    """Configs that rebuild the pipeline (fewer steps, a changed step, the
    teacher cache) keep every other step exactly as the dataset base
    defines it, so the copies cannot drift apart."""
    name = osp.basename(path)
    base = 'hilda_demo.py' if '_demo' in name else 'hilda_nuscenes.py'
    reference = {
        step['type']: step
        for step in Config.fromfile(
            osp.join(REPO_ROOT, 'configs', '_base_', 'datasets',
                     base)).train_dataloader.dataset.pipeline
    }
    allowed = next((v for k, v in STEP_CHANGES.items() if name.startswith(k)),
                   {})
    checked = 0
    for step in Config.fromfile(path).train_dataloader.dataset.pipeline:
        ref = reference.get(step['type'])
        if ref is None:
            continue  # a step of its own (superpixels, the cache reader)
        changed = {
            k
            for k in set(step) | set(ref) if step.get(k) != ref.get(k)
        }
        assert changed <= allowed.get(step['type'],
                                      set()), (step['type'], changed)
        checked += 1
    assert checked >= 5
