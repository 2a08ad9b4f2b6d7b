# Copyright (c) HilDA authors. All rights reserved.
"""How much of the teacher's CLS target is the same in every scene?

L_CLS regresses the student's global token onto the teacher's scene
descriptor (the cameras' CLS tokens, pooled as the config's
``GlobalTokenHead`` pools them). Its raw MSE splits into the error on the
mean descriptor (the same for every scene: a constant to learn) and the
error on what varies between scenes. :func:`scene_independent_share` gives
the share of the target's energy ``mean_i |y_i|^2`` that the mean
descriptor holds, ``|mean_i y_i|^2 / mean_i |y_i|^2``: near 1, the raw MSE
mostly teaches the constant (``GlobalTokenHead(standardize_target=True)``
is the option that removes it).
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.utils import ProgressBar
from torch import Tensor

from .loading import (VisualizationError, build_pretrain_dataset,
                      load_pretrainer, prepare_sample)


def scene_independent_share(targets: Tensor) -> Dict[str, float]:
    """The energy split of (N, D) scene descriptors.

    Returns:
        dict[str, float]: ``share`` (scene-independent share of the
        energy), ``energy`` (``mean_i |y_i|^2``), ``between_scene``
        (``mean_i |y_i - mean|^2``, what a standardised or centred loss
        acts on), ``num_samples``, ``channels`` and ``share_channels_90``
        (how few channels hold 90 % of the between-scene variance, a
        measure of how much of it there is to learn).
    """
    if targets.dim() != 2 or len(targets) < 2:
        raise VisualizationError(
            f'need (N >= 2, D) descriptors, got {tuple(targets.shape)}')
    targets = targets.double()
    mean = targets.mean(0)
    energy = float(targets.square().sum(1).mean())
    between = float((targets - mean).square().sum(1).mean())
    var = (targets - mean).square().mean(0).sort(descending=True).values
    cum = var.cumsum(0) / var.sum().clamp(min=1e-30)
    return dict(
        share=float(mean.square().sum()) / max(energy, 1e-30),
        energy=energy,
        between_scene=between,
        num_samples=len(targets),
        channels=targets.shape[1],
        share_channels_90=int((cum < 0.9).sum()) + 1)


@torch.no_grad()
def collect_cls_targets(model,
                        dataset,
                        indices: Sequence[int],
                        seed: int = 0) -> Tensor:
    """(N, D) scene descriptors of ``indices``: the teacher's CLS tokens
    (from the teacher-feature cache when the pipeline loads it, else the
    live teacher), pooled over the cameras as the model's global token
    does (max, the paper's, without a ``global_token``)."""
    out = []
    bar = ProgressBar(len(indices))
    for index in indices:
        inputs, data_samples = prepare_sample(model, dataset, index, seed)
        _, cls, _ = model.teacher_outputs(inputs, data_samples)
        if model.global_token is not None:
            out.append(model.global_token.scene_descriptor(cls).float())
        else:
            out.append(cls.amax(1).float() if cls.dim() == 3 else cls.float())
        bar.update()
    return torch.cat(out).cpu()


def cls_target_energy(cfg: Config,
                      split: str = 'train',
                      num_samples: Optional[int] = None,
                      seed: int = 0,
                      device: str = 'cpu') -> dict:
    """:func:`scene_independent_share` of the config's CLS targets over
    the first ``num_samples`` samples of ``split`` (all by default)."""
    model = load_pretrainer(cfg, None, device)
    dataset = build_pretrain_dataset(cfg, split)
    count = len(dataset) if num_samples is None else min(
        num_samples, len(dataset))
    targets = collect_cls_targets(model, dataset, range(count), seed)
    result = scene_independent_share(targets)
    result.update(split=split, teacher=type(model.teacher).__name__, seed=seed)
    return result
