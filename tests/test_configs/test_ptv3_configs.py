# Copyright (c) HilDA authors. All rights reserved.
"""The PTv3 configs build, pre-training and fine-tuning agree on the
architecture, and the exported student loads into the segmentor."""
import copy
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmdet3d.registry import HOOKS, MODELS
from mmengine.config import Config
from mmengine.runner import save_checkpoint
from torch import nn

import projects.HilDA.hilda.engine  # noqa: F401
from projects.HilDA.hilda.checkpoints import ExportError, export_student
from projects.HilDA.hilda.engine import PretrainedWeightsCheckHook
from tests.conftest import REPO_ROOT

FINETUNE = osp.join(REPO_ROOT, 'configs', 'finetune', 'ptv3')
PRETRAIN = osp.join(REPO_ROOT, 'configs', 'hilda')
FINETUNE_CONFIGS = sorted(glob.glob(osp.join(FINETUNE, '*.py')))
PAPER = osp.join(PRETRAIN, 'hilda_ptv3-dinov2-vitb14_8xb2-amp-50e_nuscenes.py')
DEMO = osp.join(PRETRAIN, 'hilda_ptv3-demo-effnetlite0_1xb2-150iter_demo.py')
NUS = osp.join(FINETUNE, 'ptv3_hilda_8xb2-50e_nus-lidarseg.py')
DEMO_HILDA = osp.join(FINETUNE,
                      'ptv3-demo_hilda_1xb2-200iter_demo-lidarseg.py')


def architecture(cfg):
    """Backbone/student arguments that shape the parameters."""
    cfg = copy.deepcopy(cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg)
    for key in ('type', 'init_cfg', 'num_levels', '_delete_', '_scope_'):
        cfg.pop(key, None)
    return cfg


def build_segmentor(path, **backbone):
    cfg = copy.deepcopy(Config.fromfile(path).model)
    cfg.data_preprocessor.type = 'HilDADataPreprocessor'
    cfg.backbone.update(backbone)
    return MODELS.build(cfg)


@pytest.mark.parametrize('path', FINETUNE_CONFIGS, ids=osp.basename)
def test_finetune_config_builds_the_ptv3_segmentor(path):
    cfg = Config.fromfile(path)
    for hook in cfg.get('custom_hooks', []):
        assert HOOKS.get(hook['type']) is not None, hook['type']
    model = build_segmentor(path, init_cfg=None)
    assert type(model.backbone).__name__ == 'PointTransformerV3'
    assert type(model).__name__ == 'MinkUNet'  # mmdet3d's EncoderDecoder3D
    # The decode head is one linear layer on the backbone's features.
    assert model.decode_head.conv_seg.in_features == \
        model.backbone.dec_channels[0]


@pytest.mark.parametrize('pretrain, finetune', [(PAPER, NUS),
                                                (DEMO, DEMO_HILDA)])
def test_pretraining_and_finetuning_agree_on_the_architecture(
        pretrain, finetune):
    student = Config.fromfile(pretrain).model.student
    backbone = Config.fromfile(finetune).model.backbone
    assert student.type == 'MultiLevelPTv3'
    assert architecture(student) == architecture(backbone)
    assert backbone.init_cfg.prefix == 'backbone.'


def test_paper_config_is_ptv3_published_size_on_the_minkunet_recipe():
    ours = Config.fromfile(PAPER)
    mink = Config.fromfile(
        osp.join(PRETRAIN,
                 'hilda_minkunet34-dinov2-vitb14_8xb2-amp-50e_nuscenes.py'))
    student = ours.model.student
    assert tuple(student.enc_depths) == (2, 2, 2, 6, 2)
    assert tuple(student.enc_channels) == (32, 64, 128, 256, 512)
    assert tuple(student.enc_num_heads) == (2, 4, 8, 16, 32)
    assert tuple(student.dec_depths) == (2, 2, 2, 2)
    assert tuple(student.dec_channels) == (64, 64, 128, 256)
    assert tuple(student.dec_num_heads) == (4, 4, 8, 16)
    assert student.enc_patch_size == student.dec_patch_size == 1024
    assert ours.optim_wrapper.type == 'AmpOptimWrapper'
    assert ours.model.teacher == mink.model.teacher
    for key in ('distill_head', 'global_token', 'diffusion_head'):
        assert ours.model[key] == mink.model[key], key
    assert ours.train_cfg == mink.train_cfg


def test_paper_student_builds_at_46m_parameters():
    student = MODELS.build(Config.fromfile(PAPER).model.student)
    assert student.level_channels == (64, 64)
    assert 45e6 < sum(p.numel() for p in student.parameters()) < 47e6


class FakePretrainer(nn.Module):
    """The demo student and a head under the pre-trainer's names."""

    def __init__(self):
        super().__init__()
        self.student = MODELS.build(Config.fromfile(DEMO).model.student)
        self.distill_head = nn.Linear(48, 8)


@pytest.fixture(scope='module')
def demo_export(tmp_path_factory):
    torch.manual_seed(0)
    pretrainer = FakePretrainer()
    with torch.no_grad():  # not the initial values: a load must show
        for value in pretrainer.state_dict().values():
            if value.is_floating_point():
                value.uniform_(-1, 1)
    root = tmp_path_factory.mktemp('ptv3_export')
    src = str(root / 'iter_1.pth')
    save_checkpoint(dict(state_dict=pretrainer.state_dict()), src)
    return src, pretrainer.student, root


def test_export_loads_into_the_segmentor_without_missing_or_unexpected_keys(
        demo_export):
    src, student, root = demo_export
    out = str(root / 'ptv3.pth')
    counts = export_student(src, out, 'ptv3')
    assert counts['kept'] == len(student.state_dict())
    assert counts['dropped'] == 2
    model = build_segmentor(
        DEMO_HILDA,
        init_cfg=dict(type='Pretrained', checkpoint=out, prefix='backbone.'))
    model.init_weights()
    hook = PretrainedWeightsCheckHook(module='backbone')
    hook.before_train(
        SimpleNamespace(model=model, cfg=Config(dict(load_from=None))))
    assert hook.report['ratio'] == 1.0
    assert not hook.report['missing'] and not hook.report['different']
    # Strictly: the exported keys are exactly the backbone's.
    exported = torch.load(out, map_location='cpu', weights_only=True)
    exported = exported.get('state_dict', exported)
    fresh = build_segmentor(DEMO_HILDA, init_cfg=None)
    result = fresh.backbone.load_state_dict(
        {
            k[len('backbone.'):]: v
            for k, v in exported.items()
        }, strict=False)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in student.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[key], value)


def test_export_for_another_target_is_an_error(demo_export):
    """Exporting the PTv3 student for CenterPoint is refused at export,
    naming the source and the target that fits; nothing is written."""
    src, _, root = demo_export
    out = root / 'centerpoint.pth'
    with pytest.raises(ExportError, match='it fits --target ptv3') as err:
        export_student(src, str(out), 'centerpoint')
    assert str(err.value).startswith(src)
    assert not out.exists()
