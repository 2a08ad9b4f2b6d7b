# Copyright (c) HilDA authors. All rights reserved.
"""tools/train.py's config checks: loop arguments, documented options,
resume checkpoints (build_cfg only, no training)."""
import pytest
import torch

from projects.HilDA.hilda.apis import ConfigError
from tests.conftest import SMOKE_CONFIG, load_tool


@pytest.fixture(scope='module')
def train_tool():
    return load_tool('train.py')


def build(tool, tmp_path, *args):
    return tool.build_cfg(
        tool.parse_args([SMOKE_CONFIG, '--work-dir',
                         str(tmp_path), *args]))


def test_max_epochs_on_an_iteration_config_is_one_line(train_tool, tmp_path):
    with pytest.raises(ConfigError) as err:
        build(train_tool, tmp_path, '--cfg-options', 'train_cfg.max_epochs=2')
    msg = str(err.value)
    assert 'train_cfg.max_epochs is not an argument of IterBasedTrainLoop' \
        in msg and 'use train_cfg.max_iters' in msg, msg


def test_skip_bad_samples_options_are_accepted(train_tool, tmp_path):
    cfg = build(train_tool, tmp_path, '--cfg-options', 'skip_bad_samples=True',
                'skip_bad_samples_cfg.max_skip_ratio=0.2')
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'SkipBadSamplesDataset'
    assert dataset.max_skip_ratio == 0.2


def test_resume_on_an_exported_file_is_refused(train_tool, tmp_path):
    export = str(tmp_path / 'student.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(2)), meta={}), export)
    with pytest.raises(ConfigError, match='has no training state'):
        build(train_tool, tmp_path, '--resume', export)


def test_auto_resume_in_an_empty_work_dir_starts_fresh(train_tool, tmp_path):
    cfg = build(train_tool, tmp_path / 'work', '--resume')
    assert not cfg.resume and cfg.load_from is None
