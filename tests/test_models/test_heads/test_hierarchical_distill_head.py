# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
from mmdet3d.registry import MODELS

from projects.HilDA.hilda.models.heads import hierarchical_distill_head
from projects.HilDA.hilda.models.utils import bilinear_sample
from projects.HilDA.hilda.structures import PointLevels

LOSSES = dict(
    cosine='CosineDistanceLoss',
    l2='NormalizedL2Loss',
    infonce='SuperpixelInfoNCELoss')


def build_head(loss_type=None, **kwargs):
    cfg = dict(
        type='HierarchicalDistillHead',
        student_channels=[8, 6],
        teacher_channels=[5, 4])
    if loss_type is not None:
        cfg['loss'] = dict(type=LOSSES[loss_type])
    cfg.update(kwargs)
    return MODELS.build(cfg)


def make_batch(num_points=40, num_pairs=30, seed=0):
    gen = torch.Generator().manual_seed(seed)
    point_feats = [
        torch.randn(num_points, 8, generator=gen, requires_grad=True),
        torch.randn(num_points, 6, generator=gen, requires_grad=True)
    ]
    teacher = [torch.randn(4, 5, 2, 3), torch.randn(4, 4, 2, 3)]
    pairs = dict(
        point_idx=torch.randperm(num_points, generator=gen)[:num_pairs],
        img_idx=torch.randint(0, 4, (num_pairs, ), generator=gen),
        uv=torch.rand(num_pairs, 2, generator=gen) * torch.tensor([42., 28.]))
    return point_feats, teacher, pairs


def test_level_count_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match='student gives 2 levels.*teacher 3'):
        build_head(teacher_channels=[5, 4, 3])


@pytest.mark.parametrize('loss_type', ['cosine', 'l2'])
def test_loss_per_level_reaches_student_not_teacher(loss_type):
    head = build_head(loss_type=loss_type, level_weights=[1.0, 0.5])
    point_feats, teacher, pairs = make_batch()
    losses = head.loss(point_feats, teacher, image_size=(28, 42), **pairs)
    assert set(losses) == {'loss_distill_l0', 'loss_distill_l1'}
    total = sum(losses.values())
    assert torch.isfinite(total) and total > 0
    total.backward()
    for feats in point_feats:
        touched = feats.grad.abs().sum(1) > 0
        # Exactly the paired points receive gradient.
        assert set(torch.nonzero(touched).view(-1).tolist()) == set(
            pairs['point_idx'].tolist())


def test_training_the_heads_aligns_student_with_teacher():
    torch.manual_seed(0)
    head = build_head(student_channels=[5, 4], head_type='linear')
    _, teacher, pairs = make_batch()

    # Student features that carry the teacher's information (permuted).
    feats = [
        torch.zeros(40, t.shape[1]).index_put_(
            (pairs['point_idx'], ),
            bilinear_sample(t, pairs['img_idx'], pairs['uv'],
                            (28, 42))[:, torch.randperm(t.shape[1])])
        for t in teacher
    ]
    optim = torch.optim.Adam(head.parameters(), lr=0.05)
    first = None
    for _ in range(100):
        loss = sum(
            head.loss(feats, teacher, image_size=(28, 42), **pairs).values())
        first = loss.item() if first is None else first
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert loss.item() < 0.05 < first


def test_zero_correspondences_give_zero_loss_not_nan():
    head = build_head()
    point_feats, teacher, _ = make_batch()
    empty = dict(
        point_idx=torch.zeros(0, dtype=torch.long),
        img_idx=torch.zeros(0, dtype=torch.long),
        uv=torch.zeros(0, 2))
    losses = head.loss(point_feats, teacher, image_size=(28, 42), **empty)
    total = sum(losses.values())
    assert total.item() == 0.0
    total.backward()  # the graph exists, gradients are zero
    assert all(p.grad is not None and not p.grad.any()
               for p in head.parameters())
    assert head.num_empty_batches == 1


def test_infonce_prefers_matching_superpixels():
    from projects.HilDA.hilda.models.losses import superpixel_infonce_loss
    torch.manual_seed(0)
    teacher = torch.randn(60, 16)
    segment = torch.arange(60) // 6  # 10 superpixels
    matched = superpixel_infonce_loss(teacher.clone(), teacher, segment)
    shuffled = superpixel_infonce_loss(teacher[torch.randperm(60)], teacher,
                                       segment)
    assert matched < 0.1 < shuffled


def test_infonce_without_superpixels_says_what_to_add():
    head = build_head(loss_type='infonce')
    point_feats, teacher, pairs = make_batch()
    with pytest.raises(ValueError, match='ImageSuperpixels'):
        head.loss(point_feats, teacher, image_size=(28, 42), **pairs)


@pytest.mark.parametrize('loss_type', ['cosine', 'l2'])
@pytest.mark.parametrize('split', [10, 0])
def test_ranks_with_different_pair_counts_match_one_process(
        monkeypatch, loss_type, split):
    """DDP (simulated: tests/helpers/fake_dist.py) with the 30 pairs split
    10/20 or 0/30 over two ranks gives the one-process loss and gradient."""
    from tests.helpers.fake_dist import assert_ranks_match_one_process
    torch.manual_seed(0)
    head = build_head(loss_type=loss_type, level_weights=[1.0, 0.5])
    point_feats, teacher, pairs = make_batch()

    def loss_fn(part):
        return sum(
            head.loss(point_feats, teacher, image_size=(28, 42),
                      **part).values())

    first = {k: v[:split] for k, v in pairs.items()}
    second = {k: v[split:] for k, v in pairs.items()}
    assert_ranks_match_one_process(monkeypatch, loss_fn,
                                   list(head.parameters()) + point_feats,
                                   pairs, [first, second])


def test_infonce_sum_is_the_mean_times_the_superpixels():
    from projects.HilDA.hilda.models.losses import (num_superpixels,
                                                    superpixel_infonce_loss)
    torch.manual_seed(0)
    student, teacher = torch.randn(60, 16), torch.randn(60, 16)
    segment = torch.arange(60) // 7 * 3  # 9 superpixels, sparse ids
    mean = superpixel_infonce_loss(student, teacher, segment)
    total = superpixel_infonce_loss(student, teacher, segment, reduction='sum')
    assert num_superpixels(segment) == 9
    torch.testing.assert_close(total, mean * 9)


def test_summed_losses_do_not_overflow_in_half_precision():
    from projects.HilDA.hilda.models.losses import (cosine_distance_loss,
                                                    normalized_l2_loss)
    student = torch.randn(40000, 8).half()
    for loss in (cosine_distance_loss, normalized_l2_loss):
        total = loss(student, -student, reduction='sum')  # ~2 or 4 each
        assert total.dtype == torch.float32 and torch.isfinite(total)
        assert total > 65504  # beyond float16's range


def test_paper_defaults_are_an_mlp_head_per_level_and_cosine():
    head = build_head()
    assert type(head.loss_fn).__name__ == 'CosineDistanceLoss'
    assert len(head.heads) == 2
    assert all(isinstance(h, torch.nn.Sequential) for h in head.heads)


def test_level_weights_are_normalised_to_a_mean_over_levels():
    """Two identical levels give the one-level loss: the same loss_weight
    means the same thing for any number of levels."""
    torch.manual_seed(0)
    one = build_head(student_channels=[8], teacher_channels=[5])
    two = build_head(student_channels=[8, 8], teacher_channels=[5, 5])
    two.heads[0].load_state_dict(one.heads[0].state_dict())
    two.heads[1].load_state_dict(one.heads[0].state_dict())
    point_feats, teacher, pairs = make_batch()
    single = sum(
        one.loss(point_feats[:1], teacher[:1], image_size=(28, 42),
                 **pairs).values())
    double = sum(
        two.loss(
            [point_feats[0]] * 2, [teacher[0]] * 2,
            image_size=(28, 42),
            **pairs).values())
    torch.testing.assert_close(double, single)
    assert build_head(level_weights=[3.0, 1.0]).level_weights == [0.75, 0.25]


def test_the_loss_module_carries_its_weight():
    torch.manual_seed(0)
    head = build_head()
    heavy = build_head(loss=dict(type='CosineDistanceLoss', loss_weight=3.0))
    heavy.load_state_dict(head.state_dict())
    point_feats, teacher, pairs = make_batch()
    base = head.loss(point_feats, teacher, image_size=(28, 42), **pairs)
    got = heavy.loss(point_feats, teacher, image_size=(28, 42), **pairs)
    for name in base:
        torch.testing.assert_close(got[name], 3 * base[name])


def test_zero_level_weights_are_refused():
    with pytest.raises(ValueError, match='positive sum'):
        build_head(level_weights=[0.0, 0.0])


def test_loss_on_shared_voxels_is_the_mean_over_the_pairs():
    """Pairs whose points share voxels (PointLevels): the per-voxel cosine
    gives the mean over the pairs of 1 - cos(H_l(voxel), teacher pixel)."""
    torch.manual_seed(0)
    head = build_head()
    _, teacher, pairs = make_batch(num_points=40, num_pairs=30)
    voxel_feats = [torch.randn(7, 8), torch.randn(5, 6)]
    index = [torch.randint(0, 7, (40, )), torch.randint(0, 5, (40, ))]
    levels = PointLevels(voxel_feats, index)

    losses = head.loss(levels, teacher, image_size=(28, 42), **pairs)
    for i in range(2):
        student = head.heads[i](voxel_feats[i][index[i][pairs['point_idx']]])
        target = bilinear_sample(teacher[i], pairs['img_idx'], pairs['uv'],
                                 (28, 42))
        expected = (1 - torch.cosine_similarity(student, target)).mean()
        torch.testing.assert_close(losses[f'loss_distill_l{i}'], expected / 2)


def test_chunked_per_voxel_loss_has_the_per_pair_gradient(monkeypatch):
    """Teacher sampled in chunks of 7 pairs, points without a voxel among
    the pairs: value and gradients (student voxels and H_l) equal those of
    the loss written out pair by pair."""
    monkeypatch.setattr(hierarchical_distill_head, 'TEACHER_CHUNK', 7)
    torch.manual_seed(0)
    head = build_head()
    _, teacher, pairs = make_batch(num_points=40, num_pairs=30)
    voxel_feats = [
        torch.randn(7, 8, requires_grad=True),
        torch.randn(5, 6, requires_grad=True)
    ]
    index = [torch.randint(0, 7, (40, )), torch.randint(0, 5, (40, ))]
    index[0][pairs['point_idx'][:3]] = -1  # paired points without a voxel
    levels = PointLevels(voxel_feats, index)

    total = sum(
        head.loss(levels, teacher, image_size=(28, 42), **pairs).values())
    params = voxel_feats + list(head.parameters())
    grads = torch.autograd.grad(total, params)

    expected = 0
    for i in range(2):
        picked = index[i][pairs['point_idx']]
        rows = torch.where(picked[:, None]
                           >= 0, voxel_feats[i][picked.clamp(min=0)],
                           torch.zeros(()))
        target = bilinear_sample(teacher[i], pairs['img_idx'], pairs['uv'],
                                 (28, 42))
        expected = expected + (1 - torch.cosine_similarity(
            head.heads[i](rows), target)).mean() / 2
    grads_expected = torch.autograd.grad(expected, params)
    torch.testing.assert_close(total, expected)
    for grad, grad_expected in zip(grads, grads_expected):
        torch.testing.assert_close(grad, grad_expected)
