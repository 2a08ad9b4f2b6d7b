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
        channels_in, channels_out, 3, bias=False, indice_key='subm',
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
    torch.testing.assert_close(
        sparse_at_sites, at_sites, rtol=1e-5, atol=1e-5)

    at_sites.square().sum().backward()
    torch.testing.assert_close(
        sparse_grad,
        weight.grad.permute(0, 2, 3, 4, 1),
        rtol=1e-4,
        atol=1e-4)
