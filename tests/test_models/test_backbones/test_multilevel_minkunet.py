# Copyright (c) HilDA authors. All rights reserved.
import copy

import pytest
import torch
from mmdet3d.models.backbones import MinkUNetBackbone
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from mmengine.hub import get_config
from mmengine.runner import load_checkpoint

import projects.HilDA.hilda.models.backbones.multilevel_minkunet as mlm_module
from projects.HilDA.hilda.models.backbones import MultiLevelMinkUNet
from tests.helpers.random_weights import randomize
from tests.helpers.spconv_state_dicts import (prefixed_state_dict,
                                              to_spconv1_layout)
from tests.helpers.tiny_hilda import preprocessor_cfg

MINKUNET34 = ('mmdet3d::minkunet/'
              'minkunet34_w32_spconv_8xb2-laser-polar-mix-3x_semantickitti.py')
# A narrow MinkUNet34 for CPU tests; distinct widths catch level mix-ups.
TINY = dict(
    base_channels=8,
    encoder_channels=(8, 16, 16, 24),
    decoder_channels=(32, 24, 16, 12))


def tiny_reference():
    """mmdet3d's own backbone with TINY widths (lists: it mutates them)."""
    return MinkUNetBackbone(
        base_channels=8,
        encoder_channels=[8, 16, 16, 24],
        decoder_channels=[32, 24, 16, 12],
        encoder_blocks=[2, 3, 4, 6],
        sparseconv_backend='spconv')


def voxelised_batch(max_voxels=None, num_points=300, seed=0):
    """Two scans through HilDADataPreprocessor, as the student sees them."""
    preprocessor = MODELS.build(preprocessor_cfg(max_voxels=max_voxels))
    gen = torch.Generator().manual_seed(seed)
    points = [torch.rand(num_points, 4, generator=gen) * 10 for _ in range(2)]
    samples = [Det3DDataSample() for _ in range(2)]
    out = preprocessor(
        dict(inputs=dict(points=points), data_samples=samples),
        training=max_voxels is not None)
    voxel_dict = out['inputs']['voxels']
    maps = [s.point2voxel_map for s in out['data_samples']]
    return voxel_dict['voxels'], voxel_dict['coors'], maps


def test_weights_load_into_mmdet3d_minkunet34_segmentor(tmp_path):
    segmentor = MODELS.build(copy.deepcopy(get_config(MINKUNET34).model))
    student = randomize(MultiLevelMinkUNet())  # defaults: MinkUNet34 w32
    path = str(tmp_path / 'student.pth')
    torch.save(
        dict(state_dict=prefixed_state_dict(student, 'backbone.')), path)
    load_checkpoint(segmentor, path, strict=False)  # what `load_from` does

    seg_state = segmentor.state_dict()
    backbone_keys = {k for k in seg_state if k.startswith('backbone.')}
    assert backbone_keys == {'backbone.' + k for k in student.state_dict()}
    for key, value in student.state_dict().items():
        assert torch.equal(seg_state['backbone.' + key], value), key


def test_spconv1_export_loads_through_init_cfg_prefix(tmp_path):
    # init_cfg=Pretrained with a prefix drops the state-dict metadata, so
    # mmdet3d reads the weights as spconv-1 layout.
    student = randomize(MultiLevelMinkUNet(**TINY))
    path = str(tmp_path / 'student.pth')
    torch.save(dict(state_dict=to_spconv1_layout(student, 'backbone.')), path)
    backbone = MultiLevelMinkUNet(
        **TINY,
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    backbone.init_weights()
    for key, value in student.state_dict().items():
        assert torch.equal(backbone.state_dict()[key], value), key


def test_voxel_feats_equal_mmdet3d_backbone_and_levels_are_ordered():
    voxels, coors, _ = voxelised_batch()
    student = randomize(MultiLevelMinkUNet(**TINY)).eval()
    reference = tiny_reference().eval()
    reference.load_state_dict(student.state_dict())
    with torch.no_grad():
        out = student(voxels, coors)
        expected = reference(voxels, coors)
    assert torch.equal(out['voxel_feats'], expected)

    levels = out['decoder_feats']
    assert [lv.stride for lv in levels] == [(8, ) * 3, (4, ) * 3, (2, ) * 3,
                                            (1, ) * 3]
    assert [lv.feats.shape[1] for lv in levels] == [32, 24, 16, 12]
    assert torch.equal(levels[-1].coors, coors)
    assert out['bottleneck']['feats'].shape[1] == 24
    assert out['bottleneck']['stride'] == (16, ) * 3
    assert len(out['bottleneck']['coors']) < len(levels[0].coors)


def test_point_features_equal_bruteforce_lookup():
    voxels, coors, maps = voxelised_batch(max_voxels=200)
    assert any((m < 0).any() for m in maps)  # some points were dropped
    student = randomize(MultiLevelMinkUNet(**TINY)).eval()
    with torch.no_grad():
        out = student(voxels, coors)
        feats, valid = student.point_levels(out, maps).gather_all()
    assert [f.shape for f in feats] == [(sum(map(len, maps)), c)
                                        for c in (32, 24, 16, 12)]
    assert not valid[-1].all() and valid[0].any()

    offsets = [0, int((coors[:, 0] == 0).sum())]
    checked = 0
    for b, local in enumerate(maps):
        start = sum(len(m) for m in maps[:b])
        for p in list(range(0, len(local), 37)) + [
                int((local < 0).nonzero()[0]) if (local < 0).any() else 0
        ]:
            for lv, level in enumerate(out['decoder_feats']):
                expected = torch.zeros(level.feats.shape[1])
                found = False
                if local[p] >= 0:
                    c = coors[offsets[b] + int(local[p])]
                    key = [b] + [int(x) // level.stride[0] for x in c[1:]]
                    for row, lc in enumerate(level.coors.tolist()):
                        if lc == key:
                            expected, found = level.feats[row], True
                assert torch.equal(feats[lv][start + p], expected)
                assert bool(valid[lv][start + p]) == found
                checked += 1
    assert checked > 40


def test_point_coordinates_give_the_same_features_as_maps():
    voxels, coors, maps = voxelised_batch()
    student = MultiLevelMinkUNet(**TINY, num_levels=2).eval()
    with torch.no_grad():
        out = student(voxels, coors)
        from_maps = student.point_levels(out, maps).gather_all()[0]
        point_coors = [coors[coors[:, 0] == b][m] for b, m in enumerate(maps)]
        from_coors = student.point_levels(out, point_coors).gather_all()[0]
    assert [f.shape[1] for f in from_maps] == list(student.level_channels)
    assert student.level_strides == (2, 1)
    for a, b in zip(from_maps, from_coors):
        assert torch.equal(a, b)


def test_gradient_reaches_weights_from_every_level():
    voxels, coors, maps = voxelised_batch(num_points=150)
    student = MultiLevelMinkUNet(**TINY).train()
    out = student(voxels, coors)
    feats = student.point_levels(out, maps).gather_all()[0]
    for lv, f in enumerate(feats):
        student.zero_grad()
        # A random projection: a plain sum has zero gradient through BN.
        w = torch.randn(f.shape, generator=torch.Generator().manual_seed(lv))
        (f * w).sum().backward(retain_graph=True)
        first = student.conv_input[0][0].weight.grad
        assert first is not None and first.abs().sum() > 0
        stage = student.decoder[lv][1][0].conv1.weight.grad
        assert stage is not None and stage.abs().sum() > 0
        later = [
            p.grad for d in student.decoder[lv + 1:] for p in d.parameters()
        ]
        assert all(g is None or not g.any() for g in later)


def test_torchsparse_request_falls_back_to_spconv_and_logs_once(monkeypatch):
    calls = []
    monkeypatch.setattr(mlm_module, 'IS_TORCHSPARSE_AVAILABLE', False)
    monkeypatch.setattr(mlm_module, '_fallback_logged', False)
    monkeypatch.setattr(mlm_module, 'print_log',
                        lambda msg, **kw: calls.append(msg))
    cfg = dict(type='MultiLevelMinkUNet', sparseconv_backend='torchsparse')
    first = MODELS.build(dict(cfg, **TINY))
    second = MODELS.build(dict(cfg, **TINY))
    assert first.sparseconv_backend == second.sparseconv_backend == 'spconv'
    assert len(calls) == 1 and 'spconv' in calls[0]


def test_pad_spatial_shape_keeps_odd_border_voxels():
    voxels, coors, maps = voxelised_batch()
    plain = randomize(MultiLevelMinkUNet(**TINY)).eval()
    padded = MultiLevelMinkUNet(**TINY, pad_spatial_shape=True).eval()
    padded.load_state_dict(plain.state_dict())
    with torch.no_grad():
        _, plain_valid = plain.point_levels(plain(voxels, coors),
                                            maps).gather_all()
        out = padded(voxels, coors)
        _, padded_valid = padded.point_levels(out, maps).gather_all()
    assert all(n % 16 == 0 for n in out['spatial_shape'])
    assert not plain_valid[0].all()  # mmdet3d's grid drops border voxels
    assert all(v.all() for v in padded_valid)


def test_rejects_unsupported_backend_and_levels():
    with pytest.raises(AssertionError):
        MultiLevelMinkUNet(**TINY, sparseconv_backend='minkowski')
    with pytest.raises(AssertionError):
        MultiLevelMinkUNet(**TINY, num_levels=5)
