# Copyright (c) HilDA authors. All rights reserved.
"""Colour features by their principal components, for pictures."""
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F


class PCAColours:
    """Map features to RGB through their first three principal components.

    Fitted once (on the teacher's features) and then applied to any
    features of the same space, so equal colours mean equal projections.
    The fit is deterministic: eigen-decomposition of the covariance in
    float64 with each component's sign fixed (largest loading positive).

    Args:
        mean (Tensor): (D,) feature mean.
        components (Tensor): (D, 3) principal axes (zero columns when
            D < 3).
        low (Tensor): (3,) projection mapped to 0.
        high (Tensor): (3,) projection mapped to 1.
        normalize (bool): L2-normalise features before projecting.
    """

    def __init__(self,
                 mean: Tensor,
                 components: Tensor,
                 low: Tensor,
                 high: Tensor,
                 normalize: bool = False) -> None:
        self.mean = mean
        self.components = components
        self.low = low
        self.high = high
        self.normalize = normalize

    @classmethod
    def fit(cls,
            feats: Tensor,
            quantile: float = 0.0,
            normalize: bool = False) -> 'PCAColours':
        """Fit on (N, D) features.

        Args:
            feats (Tensor): (N, D) features, N >= 1.
            quantile (float): Colour range from this quantile to ``1 -
                quantile`` of the projections; 0 (default) is min-max. A
                small value (0.01) keeps a few outliers (e.g. ViT
                high-norm tokens) from washing out the colours.
            normalize (bool): Work on L2-normalised features (fit and
                apply). Use it to compare features trained with a cosine
                loss, whose norm is arbitrary.
        """
        x = cls._prepare(feats, normalize)
        mean = x.mean(0)
        centred = x - mean
        cov = centred.T @ centred / max(len(x) - 1, 1)
        _, vectors = torch.linalg.eigh(cov)  # ascending eigenvalues
        components = vectors.flip(1)[:, :3]
        rows = components.abs().argmax(0)
        signs = torch.sign(components[rows, torch.arange(len(rows))])
        components = components * torch.where(signs == 0, 1.0, signs)
        if components.shape[1] < 3:
            components = F.pad(components, (0, 3 - components.shape[1]))
        proj = centred @ components
        if quantile > 0:
            low = torch.quantile(proj, quantile, dim=0)
            high = torch.quantile(proj, 1 - quantile, dim=0)
        else:
            low, high = proj.amin(0), proj.amax(0)
        return cls(mean, components, low, high, normalize)

    @staticmethod
    def _prepare(feats: Tensor, normalize: bool) -> Tensor:
        x = feats.detach().double().cpu()
        return F.normalize(x, dim=1) if normalize else x

    def __call__(self, feats: Tensor) -> Tensor:
        """(N, D) features -> (N, 3) float32 RGB in [0, 1]."""
        x = self._prepare(feats, self.normalize)
        proj = (x - self.mean) @ self.components
        span = (self.high - self.low).clamp(min=1e-12)
        return ((proj - self.low) / span).clamp(0, 1).float()


def feature_map_rgb(colours: PCAColours,
                    feature_map: Tensor,
                    image_size: Tuple[int, int],
                    stride: Optional[int] = None) -> np.ndarray:
    """A (D, h, w) feature map as an RGB image of the input's size.

    Follows the teacher's pixel convention (cell ``j`` covers pixels
    ``[j*s, (j+1)*s)``): the colours are upsampled bilinearly to the
    ``h*s`` by ``w*s`` extent the map covers (a CNN pads its input), then
    cropped to the image.

    Args:
        colours (PCAColours): Fitted colour map.
        feature_map (Tensor): (D, h, w).
        image_size (tuple[int, int]): (H, W) of the teacher's input.
        stride (int, optional): Input pixels per cell; None: the map
            covers exactly the image.

    Returns:
        np.ndarray: (H, W, 3) float32 in [0, 1].
    """
    dims, h, w = feature_map.shape
    rgb = colours(feature_map.reshape(dims, h * w).T).T.reshape(3, h, w)
    height, width = image_size
    covered = (height, width) if stride is None else (h * stride, w * stride)
    if covered[0] < height or covered[1] < width:
        covered = (height, width)
    up = F.interpolate(
        rgb[None], size=covered, mode='bilinear', align_corners=False)[0]
    return up[:, :height, :width].permute(1, 2, 0).clamp(0, 1).numpy()
