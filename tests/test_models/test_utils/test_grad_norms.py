# Copyright (c) HilDA authors. All rights reserved.
import torch

from projects.HilDA.hilda.models.utils import loss_grad_norms


def test_each_term_gets_the_norm_of_its_own_gradient():
    x = torch.ones(4, requires_grad=True)
    feats = x * 1.0  # a non-leaf tensor of the graph, as a stage's output
    other = torch.ones(2, requires_grad=True)
    losses = dict(
        loss_a=(3 * feats).sum(),
        loss_b=(feats**2).sum(),
        loss_elsewhere=other.sum(),
        diff_valid=torch.tensor(2.0))
    norms = loss_grad_norms(losses, feats)
    assert set(norms) == {'gradnorm_a', 'gradnorm_b', 'gradnorm_elsewhere'}
    torch.testing.assert_close(norms['gradnorm_a'], torch.tensor(6.0))
    torch.testing.assert_close(norms['gradnorm_b'], torch.tensor(4.0))
    assert norms['gradnorm_elsewhere'] == 0
    # No parameter gradient was accumulated, and the graph is still there.
    assert x.grad is None
    losses['loss_a'].backward()
    torch.testing.assert_close(x.grad, torch.full((4, ), 3.0))
