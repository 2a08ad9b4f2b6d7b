# Copyright (c) HilDA authors. All rights reserved.
"""The downstream configs: they load, build, inherit mmdet3d's own configs
and change only what they say they change."""
import copy
import glob
import os.path as osp
import re

import pytest
from mmdet3d.registry import HOOKS, MODELS
from mmengine.config import Config
from mmengine.hub import get_config

import projects.HilDA.hilda.engine  # noqa: F401
import projects.HilDA.hilda.evaluation  # noqa: F401
from tests.conftest import REPO_ROOT, load_tool

FINETUNE = osp.join(REPO_ROOT, 'configs', 'finetune')
CONFIGS = sorted(glob.glob(osp.join(FINETUNE, '*.py')))
MMDET3D_MINKUNET34 = ('mmdet3d::minkunet/minkunet34_w32_spconv_8xb2-'
                      'laser-polar-mix-3x_semantickitti.py')
NUS = osp.join(FINETUNE, 'minkunet34-w32_spconv-hilda_8xb2-3x_nus-lidarseg.py')
PTV3_NUS = osp.join(FINETUNE, 'ptv3', 'ptv3_hilda_8xb2-50e_nus-lidarseg.py')
# Inert helper values of configs/_base_/finetune/hilda_weights.py.
HILDA_WEIGHTS_KEYS = ('hilda_backbone_init', 'hilda_weights_check')


def load(name):
    return Config.fromfile(osp.join(FINETUNE, name))


def plain(value):
    """Config values without the ``_scope_`` keys inheritance adds."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def without(cfg, *keys):
    cfg = plain(copy.deepcopy(cfg))
    for key in keys:
        node = cfg
        *parents, last = key.split('.')
        for p in parents:
            node = node[p]
        node.pop(last, None)
    return cfg


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads_and_builds_with_registered_hooks(path):
    cfg = Config.fromfile(path)
    for hook in cfg.get('custom_hooks', []):
        assert HOOKS.get(hook['type']) is not None, hook['type']
    model_cfg = copy.deepcopy(cfg.model)
    # The real configs use mmdet3d's CUDA-only voxeliser; build on CPU.
    if model_cfg.data_preprocessor.get('voxel_type') == 'minkunet':
        model_cfg.data_preprocessor.type = 'HilDADataPreprocessor'
    model = MODELS.build(model_cfg)
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize('name, key, mmdet3d_cfg', [
    ('minkunet34-w32_spconv-hilda_8xb2-laser-polar-mix-3x_semantickitti.py',
     'backbone', MMDET3D_MINKUNET34),
    ('centerpoint_voxel01-hilda_second_secfpn_head-circlenms_8xb4-cyclic-20e'
     '_nus-3d.py', 'pts_middle_encoder',
     'mmdet3d::centerpoint/centerpoint_voxel01_second_secfpn_head-circlenms_'
     '8xb4-cyclic-20e_nus-3d.py'),
    ('second_hv-hilda_secfpn_8xb6-80e_kitti-3d-3class.py', 'middle_encoder',
     'mmdet3d::second/second_hv_secfpn_8xb6-80e_kitti-3d-3class.py'),
])
def test_real_configs_only_add_weights_to_mmdet3d_configs(
        name, key, mmdet3d_cfg):
    ours, theirs = load(name), get_config(mmdet3d_cfg)
    assert without(ours.model, f'{key}.init_cfg') == plain(theirs.model)
    for part in ('train_dataloader', 'test_dataloader', 'optim_wrapper',
                 'param_scheduler', 'train_cfg'):
        assert plain(ours[part]) == plain(theirs[part]), part
    hook = ours.custom_hooks[0]
    assert (hook.type, hook.module) == ('PretrainedWeightsCheckHook', key)
    if key == 'backbone':
        assert ours.model.backbone.init_cfg.prefix == 'backbone.'
    else:  # SparseEncoder: no init_cfg, weights through load_from
        assert ours.load_from.endswith('.pth')


def test_nuscenes_config_is_mmdet3d_minkunet34_on_the_lidarseg_base():
    ours = Config.fromfile(NUS)
    theirs = get_config(MMDET3D_MINKUNET34)
    assert without(ours.model, 'backbone.init_cfg',
                   'data_preprocessor.voxel_layer.voxel_size',
                   'decode_head.num_classes', 'decode_head.ignore_index') == \
        without(theirs.model, 'data_preprocessor.voxel_layer.voxel_size',
                'decode_head.num_classes', 'decode_head.ignore_index')
    assert ours.model.decode_head.num_classes == 16
    base = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'datasets',
                 'nuscenes_lidarseg.py'))
    for loader in ('train_dataloader', 'test_dataloader'):
        assert without(ours[loader], '_delete_') == plain(base[loader])
    assert plain(ours.optim_wrapper) == plain(theirs.optim_wrapper)


@pytest.mark.parametrize('full', [NUS, PTV3_NUS], ids=['minkunet', 'ptv3'])
@pytest.mark.parametrize('percent', [1, 5, 10, 25])
def test_label_efficient_configs_read_the_tools_split(full, percent):
    """A share's config reads the tool's split, runs the epochs of its file
    name and trains the model of its 100 % config."""
    path, = glob.glob(
        osp.join(osp.dirname(full), f'*nus-lidarseg-{percent}pct.py'))
    cfg = Config.fromfile(path)
    tool = load_tool('create_label_efficient_splits.py')
    expected = tool.split_name('nuscenes_infos_train.pkl', percent, 0, 'frame')
    assert cfg.train_dataloader.dataset.subset_file == 'splits/' + expected
    epochs = int(re.search(r'_8xb2-(\d+)e_', path).group(1))
    assert cfg.train_cfg.max_epochs == cfg.param_scheduler[-1].end == epochs
    if full == NUS:  # mmdet3d's 3x recipe: drops at 2/3, 8/9
        assert cfg.param_scheduler[0].milestones == [
            round(epochs * 2 / 3),
            round(epochs * 8 / 9)
        ]
    assert without(cfg.model) == without(Config.fromfile(full).model)


@pytest.mark.parametrize('scratch, hilda', [
    ('minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py',
     'minkunet18-w16_spconv-hilda_1xb2-200iter_demo-lidarseg.py'),
    ('centerpoint_voxel02_second_secfpn_1xb2-300iter_demo.py',
     'centerpoint_voxel02-hilda_second_secfpn_1xb2-300iter_demo.py'),
    ('ptv3/ptv3-demo_1xb2-200iter_demo-lidarseg.py',
     'ptv3/ptv3-demo_hilda_1xb2-200iter_demo-lidarseg.py'),
])
def test_demo_hilda_configs_differ_from_scratch_only_in_the_weights(
        scratch, hilda):
    a, b = plain(load(scratch)), plain(load(hilda))
    for cfg in (a, b):
        cfg['model']['backbone' if 'backbone' in
                     cfg['model'] else 'pts_middle_encoder'].pop(
                         'init_cfg', None)
        for key in ('custom_hooks', 'load_from', 'pretrained',
                    *HILDA_WEIGHTS_KEYS):
            cfg.pop(key, None)
    assert a == b
