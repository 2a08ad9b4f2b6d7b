# Copyright (c) HilDA authors. All rights reserved.
"""The converter checks its source and the ``--target`` architecture;
exported weights are checked before a fine-tuning run starts."""
import subprocess
import sys

import pytest
import torch

from projects.HilDA.hilda.checkpoints import (ChecksumError, ExportError,
                                              check_exported_weights,
                                              export_student)
from tests.conftest import REPO_ROOT
from tests.test_checkpoints.test_checkpoint_integrity import flip_float

MINKUNET_STUDENT = ('conv_input.0.conv.weight', 'encoder.0.0.conv.weight',
                    'decoder.0.0.conv.weight')
SPARSE_ENCODER_STUDENT = ('conv_input.0.weight', 'encoder_layers.0.0.weight',
                          'conv_out.0.weight')
PTV3_STUDENT = ('stem_conv.weight', 'enc.0.0.attn.qkv.weight',
                'dec.0.0.attn.qkv.weight')


class NotAWeight:
    """Pickled by reference: weights_only loading refuses it."""


def pretrain_checkpoint(path, student_keys, extra=None):
    state = {f'student.{k}': torch.full((2, 2), 0.0095) for k in student_keys}
    state['distill_neck.weight'] = torch.ones(2)
    torch.save(dict(state_dict=state, meta={}, **(extra or {})), str(path))
    return str(path)


def test_minkunet_student_exports_for_minkunet(tmp_path):
    src = pretrain_checkpoint(tmp_path / 'iter_1.pth', MINKUNET_STUDENT)
    counts = export_student(src, str(tmp_path / 'out.pth'), 'minkunet')
    assert counts['kept'] == 3
    check_exported_weights(str(tmp_path / 'out.pth'), 'minkunet')


@pytest.mark.parametrize('student, target, fits', [
    (MINKUNET_STUDENT, 'centerpoint', 'minkunet'),
    (SPARSE_ENCODER_STUDENT, 'minkunet', 'centerpoint or second'),
    (PTV3_STUDENT, 'minkunet', 'ptv3'),
    (MINKUNET_STUDENT, 'ptv3', 'minkunet'),
])
def test_wrong_target_is_refused_naming_the_fitting_one(
        tmp_path, student, target, fits):
    src = pretrain_checkpoint(tmp_path / 'iter_1.pth', student)
    with pytest.raises(ExportError) as err:
        export_student(src, str(tmp_path / 'out.pth'), target)
    msg = str(err.value)
    assert msg.startswith(f'{src}: the student is not a {target} backbone')
    assert f'it fits --target {fits}' in msg
    assert not (tmp_path / 'out.pth').exists()


@pytest.mark.parametrize('kind, message', [
    ('text', 'not a torch checkpoint'),
    ('truncated', 'not a torch checkpoint'),
    ('unsafe', 'refused by weights_only loading'),
    ('flipped', 'CRC-32'),
])
def test_bad_sources_are_named_in_one_error(tmp_path, kind, message):
    src = tmp_path / 'src.pth'
    if kind == 'text':
        src.write_text('not a checkpoint\n')
    else:
        pretrain_checkpoint(
            src, MINKUNET_STUDENT,
            dict(extra=NotAWeight()) if kind == 'unsafe' else None)
        if kind == 'truncated':
            data = src.read_bytes()
            src.write_bytes(data[:len(data) // 2])
        elif kind == 'flipped':
            flip_float(str(src))
    expected = ChecksumError if kind == 'flipped' else ExportError
    with pytest.raises(expected) as err:
        export_student(str(src), str(tmp_path / 'out.pth'), 'minkunet')
    assert str(src) in str(err.value) and message in str(err.value)


def test_converter_cli_reports_a_wrong_target_in_one_line(tmp_path):
    src = pretrain_checkpoint(tmp_path / 'iter_1.pth', MINKUNET_STUDENT)
    tool = f'{REPO_ROOT}/tools/model_converters/hilda_to_mmdet3d.py'
    out = subprocess.run([
        sys.executable, tool, src,
        str(tmp_path / 'o.pth'), '--target', 'second'
    ],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f'hilda_to_mmdet3d.py: error: {src}: the student is not a second '
        'backbone (no key matches encoder_layers\\.; its modules are '
        'conv_input, decoder, encoder); it fits --target minkunet'
    ]


def test_fine_tuning_input_check_refuses_a_training_checkpoint(tmp_path):
    src = pretrain_checkpoint(tmp_path / 'iter_1.pth', MINKUNET_STUDENT)
    with pytest.raises(
            ExportError,
            match='is a HilDA pre-training '
            'checkpoint.*hilda_to_mmdet3d.py'):
        check_exported_weights(src, 'minkunet')
    out = str(tmp_path / 'second.pth')
    export_student(
        pretrain_checkpoint(tmp_path / 'se.pth', SPARSE_ENCODER_STUDENT), out,
        'second')
    with pytest.raises(ExportError, match='no "backbone.\\*" key'):
        check_exported_weights(out, 'minkunet')


def test_finetune_demo_checks_pretrained_before_training(tmp_path):
    from tests.conftest import load_tool
    src = pretrain_checkpoint(tmp_path / 'iter_1.pth', MINKUNET_STUDENT)
    work_dir = tmp_path / 'ft'
    with pytest.raises(ExportError) as err:
        load_tool('finetune_demo.py').main(
            ['--pretrained', src, '--work-dir',
             str(work_dir)])
    assert str(err.value).startswith(
        f'{src} is a HilDA pre-training checkpoint')
    assert not work_dir.exists()  # nothing trained
