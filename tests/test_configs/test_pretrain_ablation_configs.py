# Copyright (c) HilDA authors. All rights reserved.
"""The paper config's defaults, and every ablation / teacher-size config
differs from it only where it should, and builds."""
import os.path as osp

import pytest
from mmengine.config import Config

from tests.conftest import REPO_ROOT
from tests.helpers.tiny_hilda import TINY_VIT

HILDA = osp.join(REPO_ROOT, 'configs', 'hilda')
SUFFIX = '_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py'
PAPER = osp.join(HILDA, 'hilda' + SUFFIX)
DEMO = osp.join(HILDA, 'hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py')

# The top-level num_levels and its model copies change together.
LEVELS = ('num_levels', 'model.student.num_levels', 'model.teacher.num_levels')
# config -> the (prefixes of) keys where it differs from the paper config
EXPECTED_DIFFS = {
    'ablations/hilda-lastlevel':
    {*LEVELS, 'model.global_token', 'model.diffusion_head'},
    'ablations/hilda-multilevel':
    {'model.global_token', 'model.diffusion_head'},
    'ablations/hilda-nodiff': {'model.diffusion_head'},
    'ablations/hilda-nocls': {'model.global_token'},
    'ablations/hilda-lastlevel-diff': {*LEVELS, 'model.global_token'},
    'ablations/hilda-4levels': set(LEVELS),
    'ablations/hilda-onlylast': set(LEVELS),
    'ablations/hilda-onlypenultimate': {'model.distill_head.level_weights'},
    'ablations/hilda-attnpool-cosinecls': {
        'model.global_token.pooling', 'model.global_token.num_heads',
        'model.global_token.camera_pooling',
        'model.global_token.feature_level', 'model.global_token.loss.type'
    },
}
TEACHER_SIZES = {
    's': 'hilda_minkunet34-dinov2-vits14_8xb2-amp-50e_nuscenes.py',
    'l': 'hilda_minkunet34-dinov2-vitl14_8xb2-amp-50e_nuscenes.py',
}


def flatten(value, prefix=''):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(flatten(item, f'{prefix}.{key}' if prefix else key))
        return out or {prefix: {}}
    return {prefix: value}


def differing_keys(cfg, reference):
    a, b = flatten(cfg.to_dict()), flatten(reference.to_dict())
    return {k
            for k in a.keys() | b.keys()
            if a.get(k, '-') != b.get(k, '-')} - {'filename'}


def covered(key, prefixes):
    return any(key == p or key.startswith(p + '.') for p in prefixes)


def test_paper_config_has_the_paper_defaults():
    model = Config.fromfile(PAPER).model
    assert model.student.num_levels == model.teacher.num_levels == 2
    assert model.teacher.arch == 'dinov2-b'
    distill = model.distill_head
    assert distill.head_type == 'mlp'
    assert distill.loss.type == 'CosineDistanceLoss'
    token = model.global_token
    assert (token.pooling, token.camera_pooling, token.feature_level,
            token.head_type) == ('max', 'max', 'last', 'mlp')
    assert token.loss.type == 'FeatureMSELoss'
    assert model.diffusion_head.mode == 'temporal'


def test_demo_config_has_the_paper_objectives_on_its_own_model_base():
    demo, paper = Config.fromfile(DEMO).model, Config.fromfile(PAPER).model
    assert demo.student.num_levels == demo.teacher.num_levels == 2
    # The same H_CLS and loss, narrower (hidden_channels: a CPU cost cap).
    assert dict(
        demo.global_token, hidden_channels=None) == dict(
            paper.global_token, hidden_channels=None)
    for key in ('type', 'head_type', 'loss', 'level_weights'):
        assert demo.distill_head[key] == paper.distill_head[key]
    # Its own base: nothing of the DINOv2 teacher to delete.
    assert dict(demo.teacher) == dict(
        type='EfficientNetLiteTeacher', num_levels=2)


@pytest.mark.parametrize('name', sorted(EXPECTED_DIFFS))
def test_ablation_differs_from_the_paper_config_only_where_it_should(name):
    cfg = Config.fromfile(osp.join(HILDA, name + SUFFIX))
    diffs = differing_keys(cfg, Config.fromfile(PAPER))
    expected = EXPECTED_DIFFS[name]
    assert diffs, 'the ablation changes nothing'
    assert all(covered(k, expected) for k in diffs), sorted(diffs)
    assert all(any(covered(k, {p}) for k in diffs) for p in expected)


@pytest.mark.parametrize('size', sorted(TEACHER_SIZES))
def test_teacher_size_config_changes_only_the_teacher(size):
    cfg = Config.fromfile(osp.join(HILDA, TEACHER_SIZES[size]))
    diffs = differing_keys(cfg, Config.fromfile(PAPER))
    # The teacher's top-level definition comes along from its base file.
    expected = {
        'model.teacher.arch', 'model.teacher.checkpoint', f'dinov2_vit{size}14'
    }
    assert all(covered(k, expected) for k in diffs), sorted(diffs)
    assert {'model.teacher.arch', 'model.teacher.checkpoint'} <= diffs
    assert cfg.model.teacher.arch == f'dinov2-{size}'
    assert cfg.model.teacher.num_levels == 2


@pytest.mark.parametrize(
    'name', ['hilda'] + sorted(EXPECTED_DIFFS), ids=lambda n: n)
def test_config_builds(name):
    """With a tiny random ViT in place of the DINOv2 checkpoint (none is
    shipped); everything else as configured."""
    from mmdet3d.registry import MODELS
    cfg = Config.fromfile(osp.join(HILDA, name + SUFFIX)).model
    cfg.teacher.update(arch=TINY_VIT, checkpoint=None)
    model = MODELS.build(cfg)
    expected_heads = {
        'distill_head': cfg.get('distill_head'),
        'global_token': cfg.get('global_token'),
        'diffusion_head': cfg.get('diffusion_head')
    }
    for attr, head_cfg in expected_heads.items():
        assert (getattr(model, attr) is None) == (head_cfg is None), attr
    if model.distill_head is not None:
        assert model.distill_head.num_levels == cfg.student.num_levels
