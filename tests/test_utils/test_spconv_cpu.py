# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

import projects.HilDA.hilda  # noqa: F401  (applies the CPU patch)

spconv = pytest.importorskip('spconv.pytorch')


def test_submanifold_conv_matches_dense_conv_forward_and_backward():
    """spconv on CPU (patched) equals a dense 3D conv at the active sites,
    for the output and for the weight gradient."""
    torch.manual_seed(0)
    shape, channels_in, channels_out = (8, 8, 8), 3, 5
    coors = torch.unique(torch.randint(0, 8, (120, 3)), dim=0)
    feats = torch.randn(len(coors), channels_in)
    batch_coors = torch.cat([coors.new_zeros(len(coors), 1), coors], 1).int()

    conv = spconv.SubMConv3d(
        channels_in,
        channels_out,
        3,
        bias=False,
        indice_key='subm',
        algo=spconv.ConvAlgo.Native)
    out = conv(spconv.SparseConvTensor(feats, batch_coors, shape, 1))
    out.features.square().sum().backward()
    sparse_grad = conv.weight.grad.clone()

    # spconv's weight layout is (out, kx, ky, kz, in).
    weight = conv.weight.detach().permute(0, 4, 1, 2, 3).clone()
    weight.requires_grad_(True)
    dense = torch.zeros(1, channels_in, *shape)
    dense[0, :, coors[:, 0], coors[:, 1], coors[:, 2]] = feats.t()
    dense_out = F.conv3d(dense, weight, padding=1)
    at_sites = dense_out[0, :, coors[:, 0], coors[:, 1], coors[:, 2]].t()

    out_by_site = dict(
        zip(map(tuple, out.indices[:, 1:].tolist()), out.features))
    sparse_at_sites = torch.stack(
        [out_by_site[tuple(c)] for c in coors.tolist()])
    torch.testing.assert_close(sparse_at_sites, at_sites, rtol=1e-5, atol=1e-5)

    at_sites.square().sum().backward()
    torch.testing.assert_close(
        sparse_grad, weight.grad.permute(0, 2, 3, 4, 1), rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU patch only')
def test_dense_threads_lends_the_threads_back_for_a_block(monkeypatch):
    from projects.HilDA.hilda.utils import spconv_cpu
    assert torch.get_num_threads() == 1  # the patch's setting
    monkeypatch.setattr(spconv_cpu, '_dense_threads', 3)
    with pytest.raises(RuntimeError, match='inside'):
        with spconv_cpu.dense_threads():
            assert torch.get_num_threads() == 3
            raise RuntimeError('inside')
    assert torch.get_num_threads() == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU patch only')
def test_teacher_forward_runs_on_the_dense_threads(monkeypatch):
    from projects.HilDA.hilda.models.teachers import DINOv2Teacher
    from projects.HilDA.hilda.utils import spconv_cpu
    monkeypatch.setattr(spconv_cpu, '_dense_threads', 2)
    teacher = DINOv2Teacher(
        arch=dict(
            embed_dims=48, num_layers=2, num_heads=3, feedforward_channels=96),
        img_size=(28, 28),
        num_levels=1)
    seen = []
    forward = teacher._forward

    def recording(imgs):
        seen.append(torch.get_num_threads())
        return forward(imgs)

    monkeypatch.setattr(teacher, '_forward', recording)
    teacher(torch.randn(1, 3, 28, 28))
    assert seen == [2]
    assert torch.get_num_threads() == 1
