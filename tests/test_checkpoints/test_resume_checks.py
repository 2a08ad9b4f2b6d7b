# Copyright (c) HilDA authors. All rights reserved.
"""--resume: broken checkpoints are named in one line, and auto-resume
falls back to the newest intact checkpoint."""
import pytest
import torch

from projects.HilDA.hilda.apis import ConfigError
from projects.HilDA.hilda.checkpoints import (check_resume_checkpoint,
                                              find_resume_checkpoint)


def training_checkpoint(path, it):
    torch.save(
        dict(
            meta=dict(iter=it),
            state_dict=dict(w=torch.full((4, ), float(it))),
            message_hub=dict(),
            optimizer=dict()), str(path))
    return str(path)


def truncate(path):
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])


@pytest.mark.parametrize('kind, message', [
    ('empty', 'is empty (0 bytes)'),
    ('truncated', 'is truncated or not a torch checkpoint'),
    ('export', 'has no training state'),
])
def test_broken_resume_checkpoint_is_named(tmp_path, kind, message):
    path = str(tmp_path / 'iter_2.pth')
    if kind == 'empty':
        open(path, 'wb').close()
    elif kind == 'truncated':
        truncate(training_checkpoint(path, 2))
    else:  # what tools/model_converters/hilda_to_mmdet3d.py writes
        torch.save(dict(state_dict=dict(w=torch.ones(2)), meta={}), path)
    with pytest.raises(ConfigError) as err:
        check_resume_checkpoint(path)
    assert str(err.value).startswith(f'--resume checkpoint {path} {message}')


def test_intact_checkpoint_passes(tmp_path):
    check_resume_checkpoint(training_checkpoint(tmp_path / 'iter_2.pth', 2))


def test_auto_resume_falls_back_from_a_truncated_newest(tmp_path):
    old = training_checkpoint(tmp_path / 'iter_2.pth', 2)
    new = training_checkpoint(tmp_path / 'iter_4.pth', 4)
    truncate(new)
    (tmp_path / 'last_checkpoint').write_text(new)
    assert find_resume_checkpoint(str(tmp_path)) == old


def test_auto_resume_with_empty_last_checkpoint_takes_the_newest(tmp_path):
    training_checkpoint(tmp_path / 'iter_2.pth', 2)
    newest = training_checkpoint(tmp_path / 'iter_10.pth', 10)
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resume_checkpoint(str(tmp_path)) == newest


def test_auto_resume_without_checkpoints_starts_fresh(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) is None


def test_auto_resume_with_only_broken_checkpoints_is_an_error(tmp_path):
    path = tmp_path / 'iter_2.pth'
    open(path, 'wb').close()
    (tmp_path / 'last_checkpoint').write_text(str(path))
    with pytest.raises(ConfigError, match='no intact checkpoint.*is empty'):
        find_resume_checkpoint(str(tmp_path))
