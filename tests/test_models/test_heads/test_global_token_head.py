# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
from mmdet3d.registry import MODELS

from projects.HilDA.hilda.models.utils import (rowwise_map_segment_max,
                                               segment_max, segment_softmax)


def tiny_head(**kwargs):
    """GlobalTokenHead from 8 student to 6 teacher channels."""
    return MODELS.build(
        dict(
            type='GlobalTokenHead',
            in_channels=8,
            teacher_channels=6,
            **kwargs))


def test_segment_softmax_normalises_within_each_sample():
    scores = torch.randn(7, 2)
    segment = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    attn = segment_softmax(scores, segment, 3)
    sums = torch.zeros(3, 2).index_add_(0, segment, attn)
    torch.testing.assert_close(sums, torch.ones(3, 2))


@pytest.mark.parametrize('pooling', ['max', 'attention', 'mean'])
def test_token_of_a_sample_ignores_other_samples(pooling):
    torch.manual_seed(0)
    head = tiny_head(pooling=pooling, num_heads=2)
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
    head = tiny_head(pooling='attention', loss=dict(type='CosineDistanceLoss'))
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
    head = tiny_head()
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


def test_segment_max_is_per_segment_and_zero_when_empty():
    feats = torch.tensor([[1., -5.], [3., -7.], [2., 4.]])
    got = segment_max(feats, torch.tensor([0, 0, 2]), 3)
    torch.testing.assert_close(got,
                               torch.tensor([[3., -5.], [0., 0.], [2., 4.]]))


def test_rowwise_map_segment_max_matches_plain_max_in_value_and_grad():
    """Back-propagating through the winning rows only gives the gradient
    of the max of the head over all rows (segment 1 has no rows)."""
    torch.manual_seed(0)
    head = torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.LayerNorm(7), torch.nn.GELU(),
        torch.nn.Linear(7, 11))
    feats = torch.randn(40, 5, requires_grad=True)
    segment = torch.tensor([0] * 15 + [2] * 25)
    weight = torch.randn(3, 11)

    got = rowwise_map_segment_max(head, feats, segment, 3)
    expected = segment_max(head(feats), segment, 3)
    torch.testing.assert_close(got, expected)
    assert got[1].abs().sum() == 0
    params = [feats] + list(head.parameters())
    grads = torch.autograd.grad((got * weight).sum(), params)
    grads_expected = torch.autograd.grad((expected * weight).sum(), params)
    for grad, grad_expected in zip(grads, grads_expected):
        torch.testing.assert_close(grad, grad_expected)
    # Only winning rows get gradient: at most one per (segment, channel).
    assert 0 < int((grads[0].abs().sum(1) > 0).sum()) <= 2 * 11


def test_rowwise_map_segment_max_in_blocks_keeps_ties_across_blocks():
    """Searched in blocks of 4 rows, a maximum held by equal rows of
    different blocks still shares its gradient as the plain max does."""
    torch.manual_seed(0)
    # Integer weights and inputs: every output is exact, so equal rows
    # tie whichever block computes them.
    head = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.ReLU())
    with torch.no_grad():
        head[0].weight.copy_(torch.randint(-3, 4, (6, 3)))
        head[0].bias.zero_()
    feats = torch.randint(-2, 3, (15, 3)).float()
    # Rows 1 and 9 of segment 0 (blocks 0 and 2) hold its maxima.
    feats[1] = feats[9] = torch.tensor([9., -9., 9.])
    feats.requires_grad_(True)
    segment = torch.tensor([0] * 12 + [1] * 3)
    weight = torch.randn(2, 6)

    got = rowwise_map_segment_max(head, feats, segment, 2, chunk_rows=4)
    expected = segment_max(head(feats), segment, 2)
    torch.testing.assert_close(got, expected)
    grad = torch.autograd.grad((got * weight).sum(), feats)[0]
    grad_expected = torch.autograd.grad((expected * weight).sum(), feats)[0]
    torch.testing.assert_close(grad, grad_expected)
    assert grad[1].abs().sum() > 0
    torch.testing.assert_close(grad[1], grad[9])


def test_paper_token_is_the_max_of_h_cls_over_the_points():
    """H_CLS on every point, then the max over the sample's points (not
    H_CLS of pooled features)."""
    torch.manual_seed(0)
    head = tiny_head()
    feats = torch.randn(10, 8)
    batch = torch.tensor([0] * 4 + [1] * 6)
    token = head(feats, batch, 2)
    mapped = head.cls_head(feats)
    expected = torch.stack([mapped[:4].amax(0), mapped[4:].amax(0)])
    torch.testing.assert_close(token, expected)


def test_paper_cls_loss_is_mse_to_the_max_over_cameras():
    torch.manual_seed(0)
    head = tiny_head()
    feats = torch.randn(10, 8)
    batch = torch.tensor([0] * 4 + [1] * 6)
    cams = torch.randn(2, 3, 6)  # (B, num_cams, D)
    got = head.loss(feats, batch, cams)['loss_cls']
    expected = torch.nn.functional.mse_loss(
        head(feats, batch, 2), cams.amax(1))
    torch.testing.assert_close(got, expected)


def test_mean_over_cameras_is_an_option():
    head = tiny_head(camera_pooling='mean')
    cams = torch.randn(2, 3, 6)
    torch.testing.assert_close(head.scene_descriptor(cams), cams.mean(1))


def test_a_sample_without_features_takes_no_part():
    torch.manual_seed(0)
    head = tiny_head()
    feats = torch.randn(4, 8)
    cams = torch.randn(2, 3, 6)
    both = head.loss(feats, torch.zeros(4, dtype=torch.long), cams)
    only = head.loss(feats, torch.zeros(4, dtype=torch.long), cams[:1])
    torch.testing.assert_close(both['loss_cls'], only['loss_cls'])


def test_unknown_pooling_is_a_clear_error():
    with pytest.raises(ValueError, match='pooling must be one of'):
        tiny_head(pooling='sum')


def test_standardisation_tracks_the_targets_seen_in_training():
    torch.manual_seed(0)
    head = tiny_head(standardize_target=True)
    head.train()
    batch = torch.tensor([0, 0, 1, 1])
    targets = [torch.randn(2, 3, 6) * 4 + 10 for _ in range(3)]
    for target in targets:
        head.loss(torch.randn(4, 8), batch, target)
    seen = torch.cat([t.amax(1) for t in targets])  # max over cameras
    torch.testing.assert_close(head.target_mean, seen.mean(0))
    torch.testing.assert_close(head.target_sq_mean, seen.square().mean(0))
    assert float(head.target_count) == 6
    head.eval()  # evaluation reads the statistics, never updates them
    head.loss(torch.randn(4, 8), batch, targets[0])
    assert float(head.target_count) == 6
    assert {'target_mean', 'target_sq_mean',
            'target_count'} <= set(head.state_dict())


def test_standardised_loss_ignores_the_scene_independent_part():
    """A target offset shared by every scene changes the raw MSE, not the
    standardised one (given the same statistics)."""
    torch.manual_seed(0)
    feats, batch = torch.randn(4, 8), torch.tensor([0, 0, 1, 1])
    target = torch.randn(2, 6)
    losses = {}
    for offset in (0.0, 50.0):
        for std in (False, True):
            torch.manual_seed(1)
            head = tiny_head(standardize_target=std)
            if std:
                head.update_target_stats(target + offset)
                head.eval()
            losses[offset, std] = float(
                head.loss(feats, batch, target + offset)['loss_cls'].detach())
    assert losses[0.0, True] == pytest.approx(losses[50.0, True], rel=1e-3)
    assert losses[50.0, False] > 100 * losses[0.0, False]
    standardized = head.standardize(target + 50.0)
    torch.testing.assert_close(
        standardized.mean(0), torch.zeros(6), atol=1e-5, rtol=0)


def test_raw_mse_is_the_default():
    head = tiny_head()
    assert not head.standardize_target
    assert 'target_mean' not in head.state_dict()
