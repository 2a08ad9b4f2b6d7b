# Copyright (c) HilDA authors. All rights reserved.
import torch
import torch.nn.functional as F

from projects.HilDA.hilda.models.utils import bilinear_sample, segment_mean


def test_bilinear_sample_matches_grid_sample_with_pixel_centres():
    torch.manual_seed(0)
    maps = torch.randn(3, 5, 4, 6)  # 3 images, stride 7 for a 28x42 input
    img_idx = torch.randint(0, 3, (50, ))
    uv = torch.rand(50, 2) * torch.tensor([42.0, 28.0])
    got = bilinear_sample(maps, img_idx, uv, (28, 42))
    grid = torch.stack([uv[:, 0] / 42 * 2 - 1, uv[:, 1] / 28 * 2 - 1], 1)
    expected = torch.stack([
        F.grid_sample(
            maps[i:i + 1],
            g.view(1, 1, 1, 2),
            align_corners=False,
            padding_mode='border').view(-1) for i, g in zip(img_idx, grid)
    ])
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_bilinear_sample_hits_cell_centres_exactly():
    maps = torch.arange(2 * 3 * 4, dtype=torch.float32).view(2, 1, 3, 4)
    # Centre of cell (row 1, col 2) of image 1 with stride 10.
    got = bilinear_sample(maps, torch.tensor([1]), torch.tensor([[25.0,
                                                                  15.0]]),
                          (30, 40))
    assert got.item() == maps[1, 0, 1, 2].item()


def test_segment_mean():
    values = torch.tensor([[1.0], [3.0], [10.0]])
    out = segment_mean(values, torch.tensor([0, 0, 2]), 3)
    assert out.view(-1).tolist() == [2.0, 0.0, 10.0]
