# Copyright (c) HilDA authors. All rights reserved.
"""Random, non-initial values in a model, so that a comparison or a load
shows (the initial weights of two models of one class are alike: zero
biases, unit BatchNorm scales)."""
import torch
from torch import nn


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Values in [0.5, 1.5) in every floating tensor of ``model``'s state,
    BN statistics included (positive, so that variances stay valid)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
    return model
