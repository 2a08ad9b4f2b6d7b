# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch

from projects.HilDA.analysis.cls_target_energy import scene_independent_share
from projects.HilDA.analysis.loading import VisualizationError


def test_share_is_the_mean_descriptors_part_of_the_energy():
    torch.manual_seed(0)
    constant = torch.zeros(64)
    constant[:4] = 3.0  # |mean|^2 = 36
    varying = torch.randn(20000, 64) * 0.5  # 64 * 0.25 = 16 per sample
    result = scene_independent_share(constant + varying)
    assert result['share'] == pytest.approx(36 / 52, abs=0.01)
    assert result['between_scene'] == pytest.approx(16, rel=0.02)
    assert result['energy'] == pytest.approx(52, rel=0.02)
    assert result['channels'] == 64 and result['num_samples'] == 20000


def test_variance_in_few_channels_is_counted():
    targets = torch.zeros(100, 32)
    targets[:, 3] = torch.randn(100)
    assert scene_independent_share(targets)['share_channels_90'] == 1
    assert scene_independent_share(targets)['share'] < 0.1


def test_one_sample_is_a_clear_error():
    with pytest.raises(VisualizationError, match='N >= 2'):
        scene_independent_share(torch.ones(1, 4))
