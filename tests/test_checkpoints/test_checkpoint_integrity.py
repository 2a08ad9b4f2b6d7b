# Copyright (c) HilDA authors. All rights reserved.
"""Checkpoints are verified before use (zip CRC-32, SHA-256 sidecar), and
auto-resume reads the work dir's own files."""
import os
import shutil

import numpy as np
import pytest
import torch

from projects.HilDA.hilda.apis import ConfigError
from projects.HilDA.hilda.checkpoints import (ChecksumError,
                                              check_checkpoint_file,
                                              check_resume_checkpoint,
                                              find_resume_checkpoint,
                                              write_sidecar)

GOOD, BAD = 0.0095, 9.95


def training_checkpoint(path, it, value=GOOD):
    torch.save(
        dict(
            meta=dict(iter=it),
            state_dict=dict(w=torch.full((16, ), value)),
            message_hub=dict(),
            optimizer=dict()), str(path))
    return str(path)


def flip_float(path, old=GOOD, new=BAD):
    """Overwrite the first float32 ``old`` in the file's bytes by ``new``
    (a bit flip inside a tensor record; the zip structure stays valid)."""
    data = bytearray(open(path, 'rb').read())
    at = data.find(np.float32(old).tobytes())
    assert at > 0
    data[at:at + 4] = np.float32(new).tobytes()
    open(path, 'wb').write(bytes(data))


def test_flipped_float_loads_silently_but_is_refused(tmp_path):
    path = training_checkpoint(tmp_path / 'iter_2.pth', 2)
    flip_float(path)
    # What torch does on its own: the wrong weight, no word.
    w = torch.load(path, weights_only=True)['state_dict']['w']
    assert w[0].item() == pytest.approx(BAD)
    with pytest.raises(ChecksumError) as err:
        check_checkpoint_file(path)
    assert str(err.value).startswith(path)
    assert 'CRC-32' in str(err.value)


def test_intact_checkpoint_passes_with_and_without_sidecar(tmp_path):
    path = training_checkpoint(tmp_path / 'iter_2.pth', 2)
    check_checkpoint_file(path)
    write_sidecar(path)
    check_checkpoint_file(path, require_sidecar=True)


def test_sidecar_mismatch_is_refused(tmp_path):
    path = training_checkpoint(tmp_path / 'iter_2.pth', 2)
    write_sidecar(path)
    training_checkpoint(path, 2, value=1.0)  # a valid zip, other content
    with pytest.raises(ChecksumError, match='does not match'):
        check_checkpoint_file(path)


def test_resume_refuses_a_flipped_checkpoint_and_falls_back(tmp_path):
    old = training_checkpoint(tmp_path / 'iter_2.pth', 2)
    new = training_checkpoint(tmp_path / 'iter_4.pth', 4)
    flip_float(new)
    with pytest.raises(ConfigError) as err:
        check_resume_checkpoint(new)
    assert str(err.value).startswith(
        f'--resume checkpoint {new} fails its integrity check')
    (tmp_path / 'last_checkpoint').write_text(new)
    assert find_resume_checkpoint(str(tmp_path)) == old


def work_dir_with_checkpoint(root):
    work = root / 'run'
    work.mkdir()
    ckpt = training_checkpoint(work / 'iter_2.pth', 2)
    (work / 'last_checkpoint').write_text(ckpt)  # absolute, as mmengine
    return work


def test_copied_work_dir_resumes_from_its_own_copy(tmp_path):
    original = work_dir_with_checkpoint(tmp_path)
    copy = tmp_path / 'copy'
    shutil.copytree(original, copy)
    assert find_resume_checkpoint(str(copy)) == str(copy / 'iter_2.pth')


def test_moved_work_dir_resumes_from_its_own_files(tmp_path):
    original = work_dir_with_checkpoint(tmp_path)
    moved = tmp_path / 'moved'
    os.rename(original, moved)
    assert find_resume_checkpoint(str(moved)) == str(moved / 'iter_2.pth')


def test_pointer_outside_without_own_checkpoint_says_why(tmp_path):
    original = work_dir_with_checkpoint(tmp_path)
    other = tmp_path / 'other'
    other.mkdir()
    shutil.copy(original / 'last_checkpoint', other / 'last_checkpoint')
    with pytest.raises(ConfigError, match='outside this work dir'):
        find_resume_checkpoint(str(other))
