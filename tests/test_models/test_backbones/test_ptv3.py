# Copyright (c) HilDA authors. All rights reserved.
"""Point Transformer V3: the backbone, its attention and the HilDA student.
"""
import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.dataset import pseudo_collate
from mmengine.runner import set_random_seed
from spconv.pytorch import SparseConvTensor

from projects.HilDA.hilda.models.backbones import (MultiLevelPTv3,
                                                   PointTransformerV3)
from projects.HilDA.hilda.models.layers import (PTv3Block, SerializedAttention,
                                                SerializedPoints)
from projects.HilDA.hilda.models.utils.serialization import ORDERS, serialize
from tests.helpers.tiny_hilda import tiny_dataset, tiny_model_cfg

# Three stages; patches of 16 so that the samples span several patches,
# the last one padded. Distinct widths catch level mix-ups.
TINY = dict(
    in_channels=4,
    strides=(2, 2),
    enc_depths=(1, 2, 1),
    enc_channels=(8, 16, 24),
    enc_num_heads=(1, 2, 3),
    enc_patch_size=16,
    dec_depths=(1, 2),
    dec_channels=(12, 20),
    dec_num_heads=(2, 4),
    dec_patch_size=16,
    drop_path=0.0)


def voxels(sizes=(70, 45), extent=12, channels=4, seed=0):
    """Unique voxels of ``len(sizes)`` samples, shuffled, with features."""
    gen = torch.Generator().manual_seed(seed)
    coors = []
    for b, n in enumerate(sizes):
        cells = torch.randperm(extent**3, generator=gen)[:n]
        xyz = torch.stack(
            [cells // extent**2, cells // extent % extent, cells % extent], 1)
        coors.append(torch.cat([torch.full((n, 1), b), xyz], 1))
    coors = torch.cat(coors)
    perm = torch.randperm(len(coors), generator=gen)
    feats = torch.randn(len(coors), channels, generator=gen)
    return feats[perm], coors[perm].int()


def tiny(cls=PointTransformerV3, **overrides):
    torch.manual_seed(0)
    return cls(**dict(TINY, **overrides))


def test_paper_size_matches_ptv3_published_configuration():
    model = PointTransformerV3()
    params = sum(p.numel() for p in model.parameters())
    # PTv3 reports 46.2M parameters for this configuration.
    assert 45e6 < params < 47e6
    assert model.enc_channels == (32, 64, 128, 256, 512)
    assert model.stage_strides == (1, 2, 4, 8, 16)
    assert [len(s.blocks) for s in model.enc] == [2, 2, 2, 6, 2]
    assert all(b.attn.patch_size == 1024 for s in model.enc for b in s.blocks)


def test_forward_gives_voxel_features_of_the_last_stage():
    model = tiny().eval()
    feats, coors = voxels()
    out = model(feats, coors)
    assert out.shape == (len(coors), 12)
    stages = model.forward_stages(feats, coors)
    assert [lvl.feats.shape[1] for lvl in stages['decoder_feats']] == [20, 12]
    assert [lvl.stride for lvl in stages['decoder_feats']] == [(2, 2, 2),
                                                               (1, 1, 1)]
    torch.testing.assert_close(stages['voxel_feats'], out)
    assert stages['bottleneck']['feats'].shape[1] == 24
    assert stages['bottleneck']['stride'] == (4, 4, 4)


def test_pooling_follows_the_grid():
    """Each voxel's stage-s voxel is the cell ``coors // 2**s``."""
    model = tiny().eval()
    feats, coors = voxels()
    out = model.forward_stages(feats, coors)
    level = out['decoder_feats'][0]  # stride 2
    coarse = level.coors[out['inverses'][1].long()]
    expected = torch.cat([coors[:, :1], coors[:, 1:] // 2], 1)
    assert torch.equal(coarse.long(), expected.long())
    # Unique coarse cells: pooling merged exactly the voxels of a cell.
    assert len(torch.unique(level.coors, dim=0)) == len(level.coors)


def test_output_of_a_voxel_does_not_depend_on_input_order():
    model = tiny().eval()
    feats, coors = voxels()
    perm = torch.randperm(
        len(coors), generator=torch.Generator().manual_seed(3))
    out = model(feats, coors)
    out_perm = model(feats[perm], coors[perm])
    torch.testing.assert_close(out_perm, out[perm], atol=1e-5, rtol=1e-4)


def reference_attention(attn, feats, coors, order):
    """Plain per-patch softmax attention: the voxels of each sample in
    ``order``, cut into patches of ``attn.patch_size`` (the last shorter),
    each voxel attending to the real voxels of its patch only."""
    heads, dim = attn.num_heads, attn.channels // attn.num_heads
    qkv = attn.qkv(feats)
    out = torch.zeros_like(feats)
    ordered = order[coors[order, 0].argsort(stable=True)]
    for b in coors[:, 0].unique():
        rows = ordered[coors[ordered, 0] == b]
        for start in range(0, len(rows), attn.patch_size):
            patch = rows[start:start + attn.patch_size]
            q, k, v = qkv[patch].view(len(patch), 3, heads, dim).unbind(1)
            w = torch.einsum('qhd,khd->hqk', q, k) / dim**0.5
            out[patch] = torch.einsum('hqk,khd->qhd', w.softmax(-1),
                                      v).reshape(len(patch), -1)
    return attn.proj(out)


@pytest.mark.parametrize('sizes', [(70, 45), (5, 3)])
def test_padded_patches_do_not_leak_into_real_voxels(sizes):
    """Equal to per-patch attention over the real voxels only: padded
    entries (zero q/k/v) counted as keys would change every row of a
    padded patch; patches never mix samples."""
    torch.manual_seed(0)
    attn = SerializedAttention(8, 2, patch_size=16).eval()
    feats, coors = voxels(sizes, channels=8)
    serialization = serialize(coors, ORDERS)
    points = SerializedPoints(
        feats, coors, serialization,
        SparseConvTensor(feats, coors, [12, 12, 12], len(sizes)), 1)
    for k in range(len(ORDERS)):
        torch.testing.assert_close(
            attn(feats, points, k),
            reference_attention(attn, feats, coors.long(),
                                serialization.order[k]),
            atol=1e-5,
            rtol=1e-4)


def test_blocks_of_a_stage_take_turns_over_the_orders(monkeypatch):
    model = tiny(enc_depths=(1, 3, 1)).eval()
    used = []
    original = PTv3Block.forward

    def spy(self, points, order_index):
        used.append((id(points), points.serialization.names[order_index]))
        return original(self, points, order_index)

    monkeypatch.setattr(PTv3Block, 'forward', spy)
    model(*voxels())
    # Stage 1 (second encoder stage): three blocks, three different orders.
    stage1 = [name for _, name in used[1:4]]
    assert stage1 == list(ORDERS[:3])


def test_training_shuffles_the_orders_per_stage():
    model = tiny().train()
    feats, coors = voxels()
    seen = set()
    for seed in range(6):
        torch.manual_seed(seed)
        seen.add(model._serialized(feats, coors, None, 1).serialization.names)
    assert len(seen) > 1
    model.eval()
    assert model._serialized(feats, coors, None,
                             1).serialization.names == ORDERS


def test_gradients_reach_every_parameter():
    model = tiny(MultiLevelPTv3, num_levels=2).train()
    feats, coors = voxels()
    out = model(feats, coors)
    loss = sum((lvl.feats**2).mean() for lvl in out['decoder_feats'])
    loss.backward()
    missing = [
        n for n, p in model.named_parameters()
        if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert not missing


def test_point_levels_give_each_point_its_voxel_at_each_stage():
    model = tiny(MultiLevelPTv3, num_levels=2).eval()
    feats, coors = voxels((30, 20))
    out = model(feats, coors)
    # Points of sample 0 in voxels 0..; one point without voxel.
    order = coors[:, 0].argsort(stable=True)
    feats, coors = feats[order], coors[order]
    out = model(feats, coors)
    maps = [torch.tensor([0, 3, -1, 29]), torch.tensor([0, 19])]
    levels = model.point_levels(out, maps)
    assert len(levels) == 2 and model.level_channels == (20, 12)
    assert model.level_strides == (2, 1)
    assert levels.valid(-1).tolist() == [True, True, False, True, True, True]
    rows = torch.tensor([0, 3, 0, 29, 30, 49])
    torch.testing.assert_close(
        levels.gather(-1)[[0, 1, 3, 4, 5]],
        out['voxel_feats'][rows[[0, 1, 3, 4, 5]]])
    coarse = out['decoder_feats'][0].coors
    expected = torch.cat([coors[rows, :1], coors[rows, 1:] // 2], 1)
    got = coarse[levels.index[0][[0, 1, 3, 4, 5]]]
    assert torch.equal(got.long(), expected[[0, 1, 3, 4, 5]].long())


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match='strides needs 2 values'):
        PointTransformerV3(**dict(TINY, strides=(2, )))
    with pytest.raises(ValueError, match='orders'):
        PointTransformerV3(**dict(TINY, orders=('peano', )))
    with pytest.raises(ValueError, match='heads do not divide'):
        PointTransformerV3(**dict(TINY, enc_num_heads=(3, 2, 3)))
    with pytest.raises(ValueError, match='num_levels'):
        MultiLevelPTv3(num_levels=3, **TINY)


def test_hilda_pretrainer_trains_ptv3_student(tmp_path):
    """The pre-trainer takes the PTv3 student as it takes MinkUNet: every
    loss reaches it."""
    set_random_seed(0)
    cfg = tiny_model_cfg(
        student=dict(type='MultiLevelPTv3', num_levels=2, **TINY))
    model = MODELS.build(cfg)
    model.train()
    data = pseudo_collate([tiny_dataset(tmp_path)[i] for i in (1, 2)])
    batch = model.data_preprocessor(data, training=True)
    losses = model(**batch, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    for name in ('loss_distill_l0', 'loss_distill_l1', 'loss_cls',
                 'loss_diffusion'):
        model.zero_grad(set_to_none=True)
        losses[name].backward(retain_graph=True)
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in model.student.parameters()), name
