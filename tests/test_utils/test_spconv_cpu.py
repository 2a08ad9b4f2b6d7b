# Copyright (c) HilDA authors. All rights reserved.
import os

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


def _sparse_unet_grads(feats, coors, shape):
    """Output and input gradient of a small sparse UNet (submanifold,
    strided and inverse convs), on torch's current threads."""
    torch.manual_seed(0)
    native = dict(algo=spconv.ConvAlgo.Native)
    net = spconv.SparseSequential(
        spconv.SubMConv3d(4, 16, 3, indice_key='s0', **native),
        spconv.SparseConv3d(16, 32, 2, stride=2, indice_key='down', **native),
        spconv.SubMConv3d(32, 32, 3, indice_key='s1', **native),
        spconv.SparseInverseConv3d(32, 16, 2, indice_key='down', **native))
    feats = feats.clone().requires_grad_(True)
    out = net(spconv.SparseConvTensor(feats, coors, shape, 2)).features
    out.mul(torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    return out.detach(), feats.grad


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU patch only')
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason='needs two cores')
def test_sparse_convs_on_several_threads_equal_one_thread():
    """spconv's CPU scatter races on several intra-op threads (without the
    patch outputs and gradients differ by up to 1e-2 here); patched, torch
    keeps its threads and the result equals the one-thread run."""
    generator = torch.Generator().manual_seed(0)
    batch = torch.arange(2).repeat_interleave(6000)[:, None]
    xyz = torch.randint(0, 48, (12000, 3), generator=generator)
    coors = torch.unique(torch.cat([batch, xyz], 1).int(), dim=0)
    feats = torch.randn(len(coors), 4, generator=generator)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        expected = _sparse_unet_grads(feats, coors, [48, 48, 48])
        torch.set_num_threads(2)
        for _ in range(3):
            got = _sparse_unet_grads(feats, coors, [48, 48, 48])
            torch.testing.assert_close(got[0], expected[0])
            torch.testing.assert_close(got[1], expected[1])
    finally:
        torch.set_num_threads(threads)


def test_single_threaded_kernels_run_on_one_thread_and_give_threads_back():
    from projects.HilDA.hilda.utils import SingleThreadedKernels
    seen = []

    class Kernels:
        version = '2.3'

        @staticmethod
        def scatter_add_cpu(x):
            seen.append(('scatter', torch.get_num_threads()))
            if x is None:
                raise RuntimeError('kernel failed')
            return x + 1

        @staticmethod
        def gather_cpu(x):
            seen.append(('gather', torch.get_num_threads()))
            return x

    kernels = SingleThreadedKernels(Kernels)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert kernels.scatter_add_cpu(1) == 2
        with pytest.raises(RuntimeError, match='kernel failed'):
            kernels.scatter_add_cpu(None)
        assert kernels.gather_cpu(3) == 3
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert seen == [('scatter', 1), ('scatter', 1), ('gather', 2)]
    assert kernels.version == '2.3'


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU patch only')
def test_patch_replaces_spconv_kernels_once():
    from spconv.pytorch import ops

    from projects.HilDA.hilda.utils import (SingleThreadedKernels,
                                            patch_spconv_for_cpu)
    assert patch_spconv_for_cpu()
    assert isinstance(ops.SpconvOps, SingleThreadedKernels)
    assert not isinstance(ops.SpconvOps._kernels, SingleThreadedKernels)
