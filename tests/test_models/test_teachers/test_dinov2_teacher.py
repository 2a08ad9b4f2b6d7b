# Copyright (c) HilDA authors. All rights reserved.
"""DINOv2Teacher on tiny random ViTs (no real DINOv2 weights offline).

The reference for the official checkpoint layout is timm's DINOv2 ViT: its
parameter names are those of the official ``dinov2_vit*14_pretrain.pth``
files (``blocks.N.ls1.gamma``, ``norm.weight``, ...), and it is an
implementation independent of mmpretrain's, so matching its outputs checks
the key map and the architecture settings together.
"""
import pytest
import timm
import torch
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from mmengine.optim import build_optim_wrapper
from torch import nn

from projects.HilDA.hilda.models.teachers import (DINOv2Teacher,
                                                  dinov2_key_to_mmpretrain)
from tests.conftest import load_tool

EMBED = 48
TINY = dict(
    embed_dims=EMBED, num_layers=4, num_heads=3, feedforward_channels=96)
IMG = (28, 42)  # a 2x3 patch grid


def make_timm_dinov2(seed=0, embed=EMBED):
    """A random DINOv2-style ViT from timm, every tensor randomised.

    LayerNorm affine and LayerScale gammas are randomised too: with their
    default 1/0 and 1e-5 values a wrong mapping of them would go unseen.
    """
    torch.manual_seed(seed)
    model = timm.create_model(
        'vit_small_patch14_dinov2',
        pretrained=False,
        img_size=IMG,
        embed_dim=embed,
        depth=TINY['num_layers'],
        num_heads=TINY['num_heads'],
        mlp_ratio=TINY['feedforward_channels'] / EMBED,
        num_classes=0).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * 0.3)
    return model


def official_state_dict(model):
    """timm's keys plus the iBOT mask token, as in the official files."""
    state_dict = dict(model.state_dict())
    state_dict['mask_token'] = torch.randn(1, model.embed_dim)
    return state_dict


@pytest.fixture(scope='module')
def timm_model():
    return make_timm_dinov2()


@pytest.fixture(scope='module')
def official_ckpt(tmp_path_factory, timm_model):
    path = tmp_path_factory.mktemp('dinov2') / 'dinov2_tiny_pretrain.pth'
    torch.save(official_state_dict(timm_model), path)
    return str(path)


def build_teacher(checkpoint, **kwargs):
    return MODELS.build(
        dict(
            type='DINOv2Teacher',
            arch=TINY,
            img_size=IMG,
            checkpoint=checkpoint,
            **kwargs))


@pytest.fixture(scope='module')
def teacher(official_ckpt):
    return build_teacher(official_ckpt)


def images(n=2, size=IMG, seed=1):
    return torch.randn(
        n, 3, *size, generator=torch.Generator().manual_seed(seed))


def test_levels_shapes_and_attributes(teacher):
    out = teacher(images(n=5))
    assert teacher.out_indices == (0, 1, 2, 3)
    assert len(out['feats']) == 4
    for feat in out['feats']:
        assert feat.shape == (5, EMBED, 2, 3)
    assert out['cls'].shape == (5, EMBED)
    assert teacher.out_channels == [EMBED] * 4
    assert teacher.cls_channels == EMBED
    assert teacher.patch_size == 14 and teacher.strides == [14] * 4
    assert teacher.mean == (123.675, 116.28, 103.53)
    assert teacher.std == (58.395, 57.12, 57.375)


def test_num_levels_and_out_indices_select_last_blocks():
    assert DINOv2Teacher(
        arch=TINY, img_size=IMG, num_levels=2).out_indices == (2, 3)
    teacher = DINOv2Teacher(arch=TINY, img_size=IMG, out_indices=(-1, 0))
    assert teacher.out_indices == (0, 3)
    assert len(teacher(images())['feats']) == 2
    with pytest.raises(ValueError, match='num_levels=5'):
        DINOv2Teacher(arch=TINY, img_size=IMG, num_levels=5)


def test_official_checkpoint_matches_reference_model(teacher, timm_model):
    imgs = images()
    out = teacher(imgs)
    with torch.no_grad():
        ref = timm_model.forward_intermediates(
            imgs,
            indices=[0, 1, 2, 3],
            norm=True,
            return_prefix_tokens=True,
            intermediates_only=True)
        ref_cls = timm_model.forward_features(imgs)[:, 0]
    for feat, (ref_feat, _) in zip(out['feats'], ref):
        torch.testing.assert_close(feat, ref_feat, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out['cls'], ref_cls, rtol=1e-4, atol=1e-4)
    # every tensor loaded; the mask token dropped in the conversion
    assert teacher.load_counts == dict(
        kept=len(teacher.encoder.state_dict()),
        missing=0,
        unexpected=0,
        dropped=1)


def test_norm_all_levels_false_returns_raw_intermediate_blocks(
        official_ckpt, timm_model):
    teacher = DINOv2Teacher(
        arch=TINY,
        img_size=IMG,
        checkpoint=official_ckpt,
        norm_all_levels=False)
    imgs = images()
    with torch.no_grad():
        raw = timm_model.forward_intermediates(
            imgs, indices=[0, 1, 2], norm=False, intermediates_only=True)
    out = teacher(imgs)
    for feat, ref_feat in zip(out['feats'][:3], raw):
        torch.testing.assert_close(feat, ref_feat, rtol=1e-4, atol=1e-4)


def test_mmpretrain_checkpoint_loads_with_backbone_prefix(teacher, tmp_path):
    path = tmp_path / 'mmpretrain.pth'
    torch.save(
        dict(
            meta=dict(epoch=1),
            state_dict={
                'backbone.' + k: v
                for k, v in teacher.encoder.state_dict().items()
            }), path)
    other = DINOv2Teacher(arch=TINY, img_size=IMG, checkpoint=str(path))
    imgs = images()
    torch.testing.assert_close(other(imgs)['cls'], teacher(imgs)['cls'])


def test_key_map_examples():
    assert (dinov2_key_to_mmpretrain('blocks.3.ls1.gamma') ==
            'layers.3.attn.gamma1.weight')
    assert (dinov2_key_to_mmpretrain('blocks.3.mlp.fc2.bias') ==
            'layers.3.ffn.layers.1.bias')
    # chunked training checkpoints keep the global block index second
    assert (dinov2_key_to_mmpretrain('blocks.1.7.norm2.weight') ==
            'layers.7.ln2.weight')
    assert (dinov2_key_to_mmpretrain('blocks.0.mlp.w12.weight') ==
            'layers.0.ffn.w12.weight')
    assert dinov2_key_to_mmpretrain('norm.bias') == 'ln1.bias'
    assert dinov2_key_to_mmpretrain('mask_token') is None


def test_checkpoint_of_another_arch_names_key_and_shapes(tmp_path):
    path = tmp_path / 'wide.pth'
    torch.save(official_state_dict(make_timm_dinov2(embed=96)), path)
    with pytest.raises(ValueError) as err:
        DINOv2Teacher(arch=TINY, img_size=IMG, checkpoint=str(path))
    msg = str(err.value)
    assert str(path) in msg and "'cls_token'" in msg
    assert '(1, 1, 96)' in msg and '(1, 1, 48)' in msg


def test_checkpoint_without_matching_keys_is_an_error(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'conv1.weight': torch.zeros(3)}, path)
    with pytest.raises(ValueError, match='shares no key'):
        DINOv2Teacher(arch=TINY, img_size=IMG, checkpoint=str(path))


def test_checkpoint_with_missing_keys_is_an_error(tmp_path, timm_model):
    state_dict = official_state_dict(timm_model)
    del state_dict['blocks.2.attn.qkv.weight']
    path = tmp_path / 'partial.pth'
    torch.save(state_dict, path)
    with pytest.raises(ValueError, match='layers.2.attn.qkv.weight'):
        DINOv2Teacher(arch=TINY, img_size=IMG, checkpoint=str(path))


def test_register_token_checkpoint_is_refused(tmp_path, timm_model):
    state_dict = official_state_dict(timm_model)
    state_dict['register_tokens'] = torch.zeros(1, 4, EMBED)
    path = tmp_path / 'reg.pth'
    torch.save(state_dict, path)
    with pytest.raises(ValueError, match='register tokens'):
        DINOv2Teacher(arch=TINY, img_size=IMG, checkpoint=str(path))


def test_non_multiple_of_patch_is_padded_bottom_right(teacher):
    imgs = images(size=(30, 45))
    out = teacher(imgs)
    assert out['feats'][-1].shape == (2, EMBED, 3, 4)
    padded = torch.zeros(2, 3, 42, 56)
    padded[:, :, :30, :45] = imgs
    torch.testing.assert_close(out['feats'][-1], teacher(padded)['feats'][-1])


def test_non_multiple_of_patch_raises_when_padding_disabled():
    teacher = DINOv2Teacher(arch=TINY, img_size=IMG, pad_to_patch=False)
    with pytest.raises(ValueError, match='30x45'):
        teacher(images(size=(30, 45)))


def test_frozen_params_and_eval_mode(teacher):
    assert not any(p.requires_grad for p in teacher.parameters())
    assert teacher.train() is teacher
    assert not any(m.training for m in teacher.modules())


class _Outer(BaseModule):
    """A parent model: the frozen teacher beside a trainable layer."""

    def __init__(self, teacher, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.teacher = teacher
        self.head = nn.Linear(EMBED, EMBED)


def test_no_gradient_reaches_teacher_or_its_input(teacher):
    outer = _Outer(teacher).train()
    assert outer.head.training and not teacher.training
    imgs = images().requires_grad_()
    out = teacher(imgs)
    assert not out['cls'].requires_grad
    loss = (outer.head(out['cls']) - out['feats'][-1].mean(
        (2, 3))).pow(2).mean()
    loss.backward()
    assert outer.head.weight.grad is not None
    assert imgs.grad is None
    assert all(p.grad is None for p in teacher.parameters())


def test_optimizer_keeps_no_state_for_teacher(teacher):
    outer = _Outer(teacher)
    optim_wrapper = build_optim_wrapper(
        outer, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    loss = outer.head(teacher(images())['cls']).pow(2).mean()
    optim_wrapper.update_params(loss)
    state = optim_wrapper.optimizer.state
    assert {id(p) for p in state} == {id(p) for p in outer.head.parameters()}


def test_init_weights_cannot_reinitialise_loaded_teacher(official_ckpt):
    teacher = DINOv2Teacher(arch=TINY, img_size=IMG, checkpoint=official_ckpt)
    imgs = images()
    before = teacher(imgs)['cls']
    outer = _Outer(
        teacher,
        init_cfg=dict(type='Constant', val=0.5, layer=['Linear', 'LayerNorm']))
    outer.init_weights()
    assert torch.all(outer.head.weight == 0.5)  # the parent init did run
    torch.testing.assert_close(teacher(imgs)['cls'], before)
    assert not any(p.requires_grad for p in teacher.parameters())


def test_init_cfg_pretrained_is_an_alias_of_checkpoint(official_ckpt, teacher):
    other = MODELS.build(
        dict(
            type='DINOv2Teacher',
            arch=TINY,
            img_size=IMG,
            init_cfg=dict(type='Pretrained', checkpoint=official_ckpt)))
    imgs = images()
    torch.testing.assert_close(other(imgs)['cls'], teacher(imgs)['cls'])
    with pytest.raises(ValueError, match='Pretrained'):
        DINOv2Teacher(arch=TINY, init_cfg=dict(type='Kaiming'))


def test_converter_tool_writes_mmpretrain_keys(official_ckpt, teacher,
                                               tmp_path, capsys):
    tool = load_tool('model_converters/dinov2_to_mmpretrain.py')
    dst = tmp_path / 'out' / 'converted.pth'
    tool.main([official_ckpt, str(dst)])
    printed = capsys.readouterr().out
    num_keys = len(teacher.encoder.state_dict())
    assert (f'{num_keys + 1} keys read: ' in printed
            and '1 dropped' in printed)
    state_dict = torch.load(dst, weights_only=True)['state_dict']
    assert set(state_dict) == {
        'backbone.' + k
        for k in teacher.encoder.state_dict()
    }
    converted = DINOv2Teacher(arch=TINY, img_size=IMG, checkpoint=str(dst))
    imgs = images()
    torch.testing.assert_close(converted(imgs)['cls'], teacher(imgs)['cls'])


def test_converter_tool_refuses_non_official_file(teacher, tmp_path):
    from projects.HilDA.hilda.apis import ConfigError
    tool = load_tool('model_converters/dinov2_to_mmpretrain.py')
    src = tmp_path / 'mmpretrain.pth'
    torch.save(teacher.encoder.state_dict(), src)
    with pytest.raises(ConfigError, match='not an official DINOv2'):
        tool.convert(str(src), str(tmp_path / 'x.pth'))


def _relative_errors(out, reference):
    return [(got.float() - expected).norm() / expected.norm()
            for got, expected in zip(out['feats'] +
                                     [out['cls']], reference['feats'] +
                                     [reference['cls']])]


def test_precision_sets_the_forward_dtype(official_ckpt, teacher):
    # 'auto': float16 on CUDA, float32 elsewhere (this CPU run).
    assert teacher.compute_dtype(torch.device('cuda')) == torch.float16
    assert teacher.compute_dtype(torch.device('cpu')) is None
    reference = teacher(images())

    def build(precision):
        return build_teacher(official_ckpt, precision=precision)

    # Half precision computes differently, within bfloat16's rounding.
    errors = _relative_errors(build('bf16')(images()), reference)
    assert all(0 < e < 3e-2 for e in errors)
    # float32 ('fp32', and 'auto' on CPU) holds even inside a
    # half-precision autocast region (an AMP training step).
    with torch.autocast('cpu', dtype=torch.bfloat16):
        inside = [build('fp32')(images()), teacher(images())]
    for out in inside:
        assert all(e == 0 for e in _relative_errors(out, reference))


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of"):
        DINOv2Teacher(arch=TINY, img_size=IMG, precision='half')
