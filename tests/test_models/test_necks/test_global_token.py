# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
from mmdet3d.registry import MODELS

from projects.HilDA.hilda.models.necks import segment_softmax


def test_segment_softmax_normalises_within_each_sample():
    scores = torch.randn(7, 2)
    segment = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    attn = segment_softmax(scores, segment, 3)
    sums = torch.zeros(3, 2).index_add_(0, segment, attn)
    torch.testing.assert_close(sums, torch.ones(3, 2))


@pytest.mark.parametrize('pooling', ['attention', 'mean'])
def test_token_of_a_sample_ignores_other_samples(pooling):
    torch.manual_seed(0)
    head = MODELS.build(
        dict(
            type='GlobalTokenHead',
            in_channels=8,
            teacher_channels=6,
            pooling=pooling,
            num_heads=2))
    feats = torch.randn(10, 8)
    batch = torch.tensor([0] * 4 + [1] * 6)
    token = head(feats, batch, 2)
    changed = feats.clone()
    changed[4:] += 5.0  # only sample 1 changes
    token2 = head(changed, batch, 2)
    assert token.shape == (2, 6)
    torch.testing.assert_close(token[0], token2[0])
    assert not torch.allclose(token[1], token2[1])


def test_cls_loss_trains_the_token_towards_the_teacher():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(type='GlobalTokenHead', in_channels=8, teacher_channels=6))
    feats = torch.randn(10, 8)
    batch = torch.tensor([0] * 4 + [1] * 6)
    teacher_cls = torch.randn(2, 6)
    optim = torch.optim.Adam(head.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = head.loss(feats, batch, teacher_cls)['loss_cls']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert head.query.grad is not None
    assert losses[-1] < 0.1 < losses[0]


def test_ranks_with_different_batch_sizes_match_one_process(monkeypatch):
    """L_CLS averages over the samples of all ranks: 1 + 3 samples on two
    (simulated) ranks give the loss and gradient of one batch of 4."""
    from tests.helpers.fake_dist import assert_ranks_match_one_process
    torch.manual_seed(0)
    head = MODELS.build(
        dict(
            type='GlobalTokenHead',
            in_channels=8,
            teacher_channels=6,
            num_heads=2))
    feats = torch.randn(20, 8)
    batch = torch.arange(4).repeat_interleave(5)
    teacher_cls = torch.randn(4, 6)

    def loss_fn(samples):
        rows = torch.isin(batch, samples)
        local = torch.searchsorted(samples, batch[rows])
        return head.loss(feats[rows], local, teacher_cls[samples])['loss_cls']

    assert_ranks_match_one_process(
        monkeypatch, loss_fn, head.parameters(), torch.arange(4),
        [torch.tensor([2]), torch.tensor([0, 1, 3])])
