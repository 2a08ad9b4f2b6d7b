# Copyright (c) HilDA authors. All rights reserved.
"""The teacher key of the feature cache hashes the weights' bytes in
order: any change of any weight changes it (issue 30, item 3)."""
import contextlib

import pytest
import torch

from projects.HilDA.hilda.models.teachers import EfficientNetLiteTeacher


@pytest.fixture(scope='module')
def teacher():
    torch.manual_seed(0)
    return EfficientNetLiteTeacher(num_levels=2, checkpoint=None)


def first_conv(teacher):
    return next(m for m in teacher.encoder.modules()
                if isinstance(m, torch.nn.Conv2d) and m.out_channels > 1)


@contextlib.contextmanager
def restored_afterwards(weight):
    """Yields a copy of ``weight`` and copies it back at exit."""
    saved = weight.detach().clone()
    try:
        yield saved
    finally:
        with torch.no_grad():
            weight.copy_(saved)


def test_same_weights_give_the_same_key(teacher):
    assert teacher.cache_key() == teacher.cache_key()
    twin = EfficientNetLiteTeacher(num_levels=2, checkpoint=None)
    twin.encoder.load_state_dict(teacher.encoder.state_dict())
    assert twin.cache_key() == teacher.cache_key()


def test_two_swapped_filters_change_the_key(teacher):
    """Sums per tensor (the earlier key) are blind to this."""
    key = teacher.cache_key()
    weight = first_conv(teacher).weight
    with restored_afterwards(weight) as saved:
        with torch.no_grad():
            weight[[0, 1]] = weight[[1, 0]]
        assert torch.allclose(weight.double().sum(),
                              saved.double().sum())  # a sum cannot see it
        assert teacher.cache_key() != key
    assert teacher.cache_key() == key


def test_one_tiny_change_changes_the_key(teacher):
    key = teacher.cache_key()
    weight = first_conv(teacher).weight
    with restored_afterwards(weight):
        with torch.no_grad():
            weight[0, 0, 0, 0] = torch.nextafter(weight[0, 0, 0, 0],
                                                 torch.tensor(1.0))
        assert teacher.cache_key() != key
