# Copyright (c) HilDA authors. All rights reserved.
import pytest
from mmengine.config import Config

from projects.HilDA.hilda.apis import (ConfigError, check_cfg_options,
                                       imports_plugin, load_config)

PLUGIN_LINE = ("custom_imports = dict(imports=['projects.HilDA.hilda'], "
               'allow_failed_imports=False)\n')
CFG = dict(
    train_cfg=dict(max_iters=8),
    model=dict(backbone=dict(channels=[1, 2]), init_cfg=None))


def test_existing_keys_and_list_indices_are_accepted():
    cfg = Config(CFG)
    assert check_cfg_options(cfg, {
        'train_cfg.max_iters': 2,
        'model.backbone.channels.1': 3
    }) == []


def test_new_leaf_without_close_sibling_is_reported_as_new():
    cfg = Config(CFG)
    assert check_cfg_options(
        cfg, {'train_cfg.val_interval': 2}) == ['train_cfg.val_interval']


@pytest.mark.parametrize('key, message', [
    ('train_cfg.max_iter', "did you mean 'train_cfg.max_iters'"),
    ('trian_cfg.max_iters', "did you mean 'train_cfg'"),
    ('model.neck.channels', "'model.neck' is not in the config"),
    ('model.backbone.channels.5', 'indexes a list of 2 items'),
    ('model.init_cfg.type', "'model.init_cfg' is NoneType"),
])
def test_mistyped_keys_are_errors_naming_the_key(key, message):
    with pytest.raises(ConfigError, match=message.replace('.', r'\.')):
        check_cfg_options(Config(CFG), {key: 1})


def test_load_config_names_missing_file(tmp_path):
    missing = tmp_path / 'nope.py'
    with pytest.raises(ConfigError, match='does not exist'):
        load_config(str(missing))


def test_load_config_requires_plugin_import(tmp_path):
    cfg_file = tmp_path / 'plain.py'
    cfg_file.write_text('model = dict(type="MinkUNet")\n')
    with pytest.raises(ConfigError, match='does not import the HilDA plugin'):
        load_config(str(cfg_file))
    cfg_file.write_text(PLUGIN_LINE + 'model = dict(type="MinkUNet")\n')
    cfg = load_config(str(cfg_file), {'model.type': 'X'})
    assert imports_plugin(cfg) and cfg.model.type == 'X'


def test_load_config_reports_syntax_error_in_one_line(tmp_path):
    cfg_file = tmp_path / 'broken.py'
    cfg_file.write_text(PLUGIN_LINE + 'model = dict(type=\n')
    with pytest.raises(ConfigError, match='cannot load config') as info:
        load_config(str(cfg_file))
    assert '\n' not in str(info.value)
