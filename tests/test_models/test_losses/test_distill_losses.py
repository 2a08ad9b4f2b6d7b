# Copyright (c) HilDA authors. All rights reserved.
import torch
import torch.nn.functional as F

from projects.HilDA.hilda.models.losses import (cosine_distance_loss,
                                                normalized_l2_loss)


def _pairs(dtype=torch.float64):
    torch.manual_seed(0)
    return torch.randn(64, 12, dtype=dtype), torch.randn(64, 12, dtype=dtype)


def test_cosine_distance_equals_one_minus_cosine_similarity():
    student, teacher = _pairs(torch.float32)
    expected = (1 - F.cosine_similarity(student, teacher, dim=1)).sum()
    torch.testing.assert_close(
        cosine_distance_loss(student, teacher, reduction='sum'), expected)


def test_cosine_distance_gradient_is_autograds():
    student, teacher = _pairs()
    student.requires_grad_(True)
    cosine_distance_loss(student, teacher, reduction='sum').backward()
    reference = student.detach().clone().requires_grad_(True)
    (1 - F.cosine_similarity(reference, teacher, dim=1)).sum().backward()
    torch.testing.assert_close(student.grad, reference.grad)
    assert torch.autograd.gradcheck(lambda s: cosine_distance_loss(s, teacher),
                                    (student, ))


def test_cosine_distance_gives_the_teacher_no_gradient():
    student, teacher = _pairs()
    teacher.requires_grad_(True)
    cosine_distance_loss(student.requires_grad_(), teacher).backward()
    assert teacher.grad is None


def test_normalized_l2_is_the_distance_of_unit_vectors():
    student, teacher = _pairs()
    student.requires_grad_(True)
    got = normalized_l2_loss(student, teacher)
    expected = (F.normalize(student, dim=1) -
                F.normalize(teacher, dim=1)).square().sum(1).mean()
    torch.testing.assert_close(got, expected)
    grad, = torch.autograd.grad(got, student)
    grad_expected, = torch.autograd.grad(expected, student)
    torch.testing.assert_close(grad, grad_expected)
