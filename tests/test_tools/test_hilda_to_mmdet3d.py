# Copyright (c) HilDA authors. All rights reserved.
"""Exported HilDA students load into mmdet3d's own downstream models."""
import copy
import subprocess
import sys

import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.hub import get_config
from mmengine.runner import load_checkpoint, save_checkpoint
from torch import nn

from projects.HilDA.hilda.checkpoints import export_student
from tests.conftest import REPO_ROOT

MMDET3D_MINKUNET = ('mmdet3d::minkunet/'
                    'minkunet34_w32_spconv_8xb2-laser-polar-mix-3x_'
                    'semantickitti.py')


class FakePretrainer(nn.Module):
    """Holds a student and a head under the pre-trainer's attribute names,
    so mmengine saves a checkpoint with the same keys and metadata."""

    def __init__(self):
        super().__init__()
        self.student = MODELS.build(dict(type='MultiLevelMinkUNet'))
        self.distill_neck = nn.Linear(96, 8)


@pytest.fixture(scope='module')
def pretrain_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = FakePretrainer()
    path = tmp_path_factory.mktemp('ckpt') / 'iter_1.pth'
    save_checkpoint(dict(state_dict=model.state_dict()), str(path))
    return str(path), model.student


def mmdet3d_minkunet(**backbone_overrides):
    cfg = get_config(MMDET3D_MINKUNET).model
    cfg.data_preprocessor.type = 'HilDADataPreprocessor'
    cfg.backbone.update(backbone_overrides)
    return MODELS.build(copy.deepcopy(cfg))


def assert_same_backbone(segmentor, student):
    state = segmentor.backbone.state_dict()
    expected = student.state_dict()
    assert set(state) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value, msg=key)


def test_export_loads_with_load_from(pretrain_checkpoint, tmp_path):
    src, student = pretrain_checkpoint
    out = str(tmp_path / 'minkunet.pth')
    counts = export_student(src, out, 'minkunet')
    assert counts['kept'] == len(student.state_dict())
    assert counts['dropped'] == 2  # the head's weight and bias
    segmentor = mmdet3d_minkunet()
    checkpoint = load_checkpoint(segmentor, out, strict=False)
    missing = set(segmentor.state_dict()) - set(checkpoint['state_dict'])
    assert not [k for k in missing if k.startswith('backbone.')]
    assert_same_backbone(segmentor, student)


def test_export_loads_through_init_cfg_with_prefix(pretrain_checkpoint,
                                                   tmp_path):
    src, student = pretrain_checkpoint
    out = str(tmp_path / 'minkunet.pth')
    export_student(src, out, 'minkunet')
    segmentor = mmdet3d_minkunet(
        init_cfg=dict(type='Pretrained', checkpoint=out, prefix='backbone.'))
    segmentor.init_weights()
    assert_same_backbone(segmentor, student)


def test_converter_cli_reports_counts_and_rejects_non_hilda(
        pretrain_checkpoint, tmp_path):
    src, _ = pretrain_checkpoint
    tool = f'{REPO_ROOT}/tools/model_converters/hilda_to_mmdet3d.py'
    out = subprocess.run([sys.executable, tool, src,
                          str(tmp_path / 'a.pth')],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert 'dropped 2' in out.stdout and 'kept' in out.stdout
    plain = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1))), plain)
    bad = subprocess.run(
        [sys.executable, tool,
         str(plain), str(tmp_path / 'b.pth')],
        capture_output=True,
        text=True,
        timeout=300)
    assert bad.returncode != 0
    assert 'not a HilDA pre-training checkpoint' in bad.stderr


def test_sparse_encoder_export_loads_into_centerpoint(tmp_path):
    """A SparseEncoder student exported for CenterPoint lands in its
    ``pts_middle_encoder`` through ``load_from`` (mmengine's loader)."""
    cfg = get_config('mmdet3d::centerpoint/'
                     'centerpoint_voxel01_second_secfpn_8xb4-cyclic-20e_'
                     'nus-3d.py').model
    cfg.data_preprocessor.type = 'HilDADataPreprocessor'
    encoder_cfg = dict(cfg.pts_middle_encoder, type='PointSparseEncoder')
    torch.manual_seed(0)
    holder = nn.Module()
    holder.student = MODELS.build(encoder_cfg)
    src = str(tmp_path / 'pretrain.pth')
    save_checkpoint(dict(state_dict=holder.state_dict()), src)
    out = str(tmp_path / 'centerpoint.pth')
    counts = export_student(src, out, 'centerpoint')
    assert counts['dropped'] == 0
    detector = MODELS.build(copy.deepcopy(cfg))
    load_checkpoint(detector, out, strict=False)
    loaded = detector.pts_middle_encoder.state_dict()
    expected = holder.student.state_dict()
    assert set(loaded) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(loaded[key], value, msg=key)
