# Copyright (c) HilDA authors. All rights reserved.
"""Top-level settings reach the model and the pipeline, or the config is
refused naming both values (issue 30, item 1)."""
import glob
import os.path as osp

import pytest

from projects.HilDA.hilda.apis import ConfigError, load_config
from tests.conftest import REPO_ROOT

CACHE_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'hilda',
    'hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py')
DEMO_CONFIG = CACHE_CONFIG.replace('-teachercache', '')
PLUGIN_LINE = ("custom_imports = dict(imports=['projects.HilDA.hilda'], "
               'allow_failed_imports=False)\n')


def steps(cfg, type_name):
    return [
        s for s in cfg.train_dataloader.dataset.pipeline
        if s['type'] == type_name
    ]


def test_teacher_cache_option_reaches_the_pipeline_and_the_dump(tmp_path):
    cfg = load_config(CACHE_CONFIG, {'teacher_cache': '/elsewhere'})
    assert [s['cache_dir']
            for s in steps(cfg, 'LoadTeacherFeatures')] == ['/elsewhere']
    dumped = tmp_path / 'dumped.py'
    cfg.dump(str(dumped))
    assert "cache_dir='/elsewhere'" in dumped.read_text()
    assert 'teacher_cache/effnetlite0' not in dumped.read_text()


def test_num_levels_option_reaches_student_and_teacher():
    cfg = load_config(DEMO_CONFIG, {'num_levels': 1})
    assert cfg.model.student.num_levels == 1
    assert cfg.model.teacher.num_levels == 1


def test_bev_grid_option_reaches_target_and_diffusion_head():
    cfg = load_config(DEMO_CONFIG, {'bev_grid.cell_size': 0.4})
    assert [s['cell_size'] for s in steps(cfg, 'BEVOccupancyTarget')] == [0.4]
    assert cfg.model.diffusion_head.cell_size == 0.4
    # the other grid keys keep their values
    assert cfg.model.diffusion_head.num_height_bins == 1


def test_image_size_and_voxel_size_options_reach_their_copies():
    cfg = load_config(CACHE_CONFIG, {
        'image_size': (112, 196),
        'voxel_size': 0.4
    })
    assert [tuple(s['image_size'])
            for s in steps(cfg, 'LoadTeacherFeatures')] == [(112, 196)]
    assert cfg.model.data_preprocessor.voxel_layer.voxel_size == [0.4] * 3


def test_built_model_follows_the_num_levels_option():
    """The weight sweeps of issue 26 rely on the built model changing."""
    from mmdet3d.registry import MODELS
    cfg = load_config(DEMO_CONFIG, {'num_levels': 1})
    cfg.model.teacher.checkpoint = None  # no weights needed for the shape
    model = MODELS.build(cfg.model)
    assert model.student.num_levels == 1
    assert len(model.teacher.out_channels) == 1


def test_nested_copy_alone_on_the_command_line_is_refused_naming_both():
    with pytest.raises(ConfigError) as err:
        load_config(DEMO_CONFIG, {'model.student.num_levels': 1})
    message = str(err.value)
    assert 'model.student.num_levels = 1' in message
    assert 'top-level num_levels = 2' in message


def test_child_config_setting_only_the_top_level_value_is_refused(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = [{CACHE_CONFIG!r}]\n'
                     "teacher_cache = '/elsewhere'\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(child))
    message = str(err.value)
    assert str(child) in message and "'/elsewhere'" in message
    assert 'cache_dir' in message and 'effnetlite0_224x392' in message


def test_explicit_copy_on_the_command_line_is_kept_and_checked():
    cfg = load_config(DEMO_CONFIG, {
        'num_levels': 1,
        'model.student.num_levels': 1
    })
    assert cfg.model.teacher.num_levels == 1
    with pytest.raises(ConfigError, match='model.student.num_levels = 3'):
        load_config(DEMO_CONFIG, {
            'num_levels': 1,
            'model.student.num_levels': 3
        })


def test_config_without_the_settings_is_untouched(tmp_path):
    plain = tmp_path / 'plain.py'
    plain.write_text(PLUGIN_LINE +
                     'model = dict(student=dict(num_levels=3))\n')
    assert load_config(str(plain)).model.student.num_levels == 3


@pytest.mark.parametrize(
    'path',
    sorted(
        glob.glob(
            osp.join(REPO_ROOT, 'configs', 'hilda', '**', '*.py'),
            recursive=True)),
    ids=osp.basename)
def test_every_pretraining_config_is_consistent(path):
    load_config(path)
