# Copyright (c) HilDA authors. All rights reserved.
import hashlib
import os
import shutil
import stat
import subprocess
import sys

import pytest
import torch
from mmengine.runner import save_checkpoint
from torch import nn

from projects.HilDA.hilda.checkpoints.export import export_student
from projects.HilDA.hilda.checkpoints.integrity import (
    ChecksumError, load_verified_checkpoint, verify_checkpoint)
from tests.conftest import REPO_ROOT


@pytest.fixture(scope='module')
def pretrain_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    holder = nn.Module()
    # The parts of a MinkUNet (the export checks the --target architecture).
    holder.student = nn.Module()
    holder.student.conv_input = nn.Linear(4, 8)
    holder.student.encoder = nn.Sequential(nn.BatchNorm1d(8))
    holder.student.decoder = nn.Sequential(nn.Linear(8, 8))
    holder.distill_neck = nn.Linear(8, 3)
    path = tmp_path_factory.mktemp('ckpt') / 'iter_4.pth'
    save_checkpoint(dict(state_dict=holder.state_dict()), str(path))
    return str(path)


def test_export_writes_a_sidecar_that_verifies(pretrain_checkpoint, tmp_path):
    out = str(tmp_path / 'student.pth')
    counts = export_student(pretrain_checkpoint, out, 'minkunet')
    digest = hashlib.sha256(open(out, 'rb').read()).hexdigest()
    assert counts['sha256'] == digest
    assert open(out + '.sha256').read() == f'{digest}  student.pth\n'
    # sha256sum -c understands it too (from the file's directory).
    if shutil.which('sha256sum'):
        check = subprocess.run(['sha256sum', '-c', 'student.pth.sha256'],
                               cwd=str(tmp_path),
                               capture_output=True)
        assert check.returncode == 0, check.stdout
    assert verify_checkpoint(out) == digest
    state = load_verified_checkpoint(out)['state_dict']
    assert set(state) == {
        'backbone.conv_input.weight', 'backbone.conv_input.bias',
        'backbone.encoder.0.weight', 'backbone.encoder.0.bias',
        'backbone.encoder.0.running_mean', 'backbone.encoder.0.running_var',
        'backbone.encoder.0.num_batches_tracked', 'backbone.decoder.0.weight',
        'backbone.decoder.0.bias'
    }
    # Reproducible: exporting the same checkpoint again gives the same bytes.
    again = export_student(pretrain_checkpoint, out, 'minkunet')
    assert again['sha256'] == digest
    assert not [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]


def test_tampered_weights_fail_with_both_hashes(pretrain_checkpoint, tmp_path):
    out = str(tmp_path / 'student.pth')
    digest = export_student(pretrain_checkpoint, out, 'minkunet')['sha256']
    state = torch.load(out, weights_only=True)
    state['state_dict']['backbone.conv_input.weight'][0, 0] += 1e-3
    torch.save(state, out)  # e.g. edited by hand; the sidecar is stale
    tampered = hashlib.sha256(open(out, 'rb').read()).hexdigest()
    with pytest.raises(ChecksumError) as err:
        load_verified_checkpoint(out)
    assert digest in str(err.value) and tampered in str(err.value)
    # A flipped byte (disk/transfer corruption) is caught the same way.
    raw = bytearray(open(out, 'rb').read())
    raw[len(raw) // 2] ^= 0xFF
    open(out, 'wb').write(bytes(raw))
    with pytest.raises(ChecksumError, match=digest):
        verify_checkpoint(out)


def test_hash8_names_and_missing_sidecar(pretrain_checkpoint, tmp_path):
    out = str(tmp_path / 'student.pth')
    digest = export_student(pretrain_checkpoint, out, 'minkunet')['sha256']
    good = tmp_path / f'student-{digest[:8]}.pth'
    shutil.copy(out, good)  # published name, no sidecar: the name checks
    assert verify_checkpoint(str(good)) == digest
    bad = tmp_path / 'student-00000000.pth'
    shutil.copy(out, bad)
    with pytest.raises(ChecksumError, match='00000000'):
        verify_checkpoint(str(bad))
    plain = tmp_path / 'plain.pth'
    shutil.copy(out, plain)
    with pytest.raises(ChecksumError, match='no plain.pth.sha256'):
        verify_checkpoint(str(plain))
    assert verify_checkpoint(str(plain), require=False) == digest


def test_converter_cli_prints_and_writes_the_checksum(pretrain_checkpoint,
                                                      tmp_path):
    tool = f'{REPO_ROOT}/tools/model_converters/hilda_to_mmdet3d.py'
    out = tmp_path / 'a.pth'
    result = subprocess.run(
        [sys.executable, tool, pretrain_checkpoint,
         str(out)],
        capture_output=True,
        text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr
    digest = verify_checkpoint(str(out))
    assert f'sha256 {digest}' in result.stdout


def test_upper_case_sidecar_verifies_as_sha256sum_accepts_it(
        pretrain_checkpoint, tmp_path):
    out = str(tmp_path / 'student.pth')
    digest = export_student(pretrain_checkpoint, out, 'minkunet')['sha256']
    with open(out + '.sha256', 'w') as f:
        f.write(f'{digest.upper()}  student.pth\n')
    assert verify_checkpoint(out) == digest


@pytest.mark.parametrize('umask', [0o022, 0o002])
def test_export_and_sidecar_follow_the_umask(pretrain_checkpoint, tmp_path,
                                             umask):
    """Not mkstemp's 0600: group members can read what a plain open
    would have let them read."""
    old = os.umask(umask)
    try:
        out = str(tmp_path / 'student.pth')
        export_student(pretrain_checkpoint, out, 'minkunet')
    finally:
        os.umask(old)
    for path in (out, out + '.sha256'):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask, path


def test_converter_refuses_to_overwrite_its_input(pretrain_checkpoint,
                                                  tmp_path):
    src = tmp_path / 'iter_4.pth'
    shutil.copy(pretrain_checkpoint, src)
    before = src.read_bytes()
    tool = f'{REPO_ROOT}/tools/model_converters/hilda_to_mmdet3d.py'
    result = subprocess.run(
        [sys.executable, tool, str(src),
         str(src)],
        capture_output=True,
        text=True,
        timeout=120)
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    assert 'is the input checkpoint itself' in result.stderr
    assert src.read_bytes() == before
    assert not (tmp_path / 'iter_4.pth.sha256').exists()
