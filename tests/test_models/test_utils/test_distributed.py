# Copyright (c) HilDA authors. All rights reserved.
import torch

from projects.HilDA.hilda.models.utils import global_mean
from tests.helpers.fake_dist import run_ranks


def test_one_process_gives_the_plain_mean():
    values = torch.tensor([1.0, 2.0, 6.0], requires_grad=True)
    (mean, ) = global_mean([values.sum()], 3)
    assert mean.item() == 3.0
    (by_tensor, ) = global_mean([values.sum()], torch.tensor(3.0))
    assert by_tensor.item() == 3.0
    (empty, ) = global_mean([values[:0].sum()], 0)
    assert empty.item() == 0.0


def test_ranks_with_different_counts_give_the_whole_batch_gradient(
        monkeypatch):
    weight = torch.tensor(2.0, requires_grad=True)
    items = torch.arange(1.0, 7.0)

    def loss_fn(part):
        return global_mean([(weight * part).square().sum()], len(part))[0]

    single = loss_fn(items)
    single.backward()
    expected = weight.grad.clone()
    # 1, 5 and 0 items on three ranks (a rank without items still joins).
    for split in ([items[:1], items[1:], items[:0]], [items[:0], items]):
        weight.grad = None
        losses = run_ranks(monkeypatch, loss_fn, split)
        # Every rank logs the whole batch's mean ...
        for loss in losses:
            torch.testing.assert_close(loss, single.detach())
        # ... and DDP's average of the gradients is the whole batch's.
        torch.testing.assert_close(weight.grad / len(split), expected)
