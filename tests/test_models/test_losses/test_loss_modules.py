# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS

from projects.HilDA.hilda.models.losses import (cosine_distance_loss,
                                                feature_mse_loss,
                                                normalized_l2_loss,
                                                superpixel_infonce_loss)


@pytest.mark.parametrize('cfg, fn', [
    (dict(type='CosineDistanceLoss'), cosine_distance_loss),
    (dict(type='NormalizedL2Loss'), normalized_l2_loss),
    (dict(type='FeatureMSELoss'), feature_mse_loss),
])
def test_registered_loss_is_its_function_times_loss_weight(cfg, fn):
    torch.manual_seed(0)
    student, teacher = torch.randn(12, 5), torch.randn(12, 5)
    loss = MODELS.build(dict(cfg, loss_weight=2.5))
    for reduction in ('mean', 'sum'):
        torch.testing.assert_close(
            loss(student, teacher, reduction=reduction),
            2.5 * fn(student, teacher, reduction))


@pytest.mark.parametrize(
    'cfg', [dict(type='CosineDistanceLoss'),
            dict(type='NormalizedL2Loss')])
def test_grouped_loss_equals_the_loss_of_expanded_rows(cfg):
    """Student rows shared by several teacher rows (a voxel's pairs): the
    loss from the summed mapped targets, accumulated in two chunks, has
    the value and student gradient of the expanded rows."""
    torch.manual_seed(0)
    student = torch.randn(6, 5, requires_grad=True)
    teacher = torch.randn(40, 5)
    group = torch.randint(0, 5, (40, ))  # row 5 has no teacher row
    loss = MODELS.build(dict(cfg, loss_weight=1.5))
    assert loss.groupable
    sums = torch.zeros(6, 5)
    loss.add_targets(sums, group[:25], teacher[:25])
    loss.add_targets(sums, group[25:], teacher[25:])
    for reduction in ('mean', 'sum'):
        got = loss.forward_grouped(student, sums, 40, reduction)
        expected = loss(student[group], teacher, reduction=reduction)
        torch.testing.assert_close(got, expected)
        grad, = torch.autograd.grad(got, student)
        grad_expected, = torch.autograd.grad(expected, student)
        torch.testing.assert_close(grad, grad_expected)
        assert grad[5].abs().sum() == 0


def test_mse_has_no_grouped_form():
    loss = MODELS.build(dict(type='FeatureMSELoss'))
    assert not loss.groupable
    with pytest.raises(TypeError, match='no per-student-row form'):
        loss.forward_grouped(torch.zeros(2, 3), torch.zeros(2, 3), 4)


def test_feature_mse_is_torch_mse_and_sums_one_value_per_row():
    torch.manual_seed(0)
    student, teacher = torch.randn(7, 4), torch.randn(7, 4)
    torch.testing.assert_close(
        feature_mse_loss(student, teacher), F.mse_loss(student, teacher))
    torch.testing.assert_close(
        feature_mse_loss(student, teacher, 'sum'),
        7 * F.mse_loss(student, teacher))


def test_feature_mse_sends_no_gradient_to_the_teacher():
    student = torch.randn(3, 4, requires_grad=True)
    teacher = torch.randn(3, 4, requires_grad=True)
    feature_mse_loss(student, teacher).backward()
    assert student.grad is not None and teacher.grad is None


def test_infonce_module_uses_its_temperature_and_needs_segments():
    torch.manual_seed(0)
    student, teacher = torch.randn(20, 6), torch.randn(20, 6)
    segment = torch.arange(20) // 4
    loss = MODELS.build(dict(type='SuperpixelInfoNCELoss', temperature=0.5))
    assert loss.needs_segments
    torch.testing.assert_close(
        loss(student, teacher, segment),
        superpixel_infonce_loss(student, teacher, segment, 0.5))
    with pytest.raises(ValueError, match='ImageSuperpixels'):
        loss(student, teacher)
