# Copyright (c) HilDA authors. All rights reserved.
"""Wire ``skip_bad_samples=True`` of a config into dataset and hooks.

The data layer provides :class:`SkipBadSamplesDataset`, the engine the
``BadSampleSummaryHook``; joining them is the tools' business, so neither
layer knows the other's names.
"""
from mmengine.config import Config, ConfigDict


def apply_skip_bad_samples(cfg: Config, summary_hook: bool = True) -> Config:
    """Honour a config's top-level ``skip_bad_samples`` (default False).

    With it True, ``train_dataloader.dataset`` is wrapped in
    :class:`SkipBadSamplesDataset` (``skip_bad_samples_cfg`` gives its
    options, e.g. ``dict(max_skip_ratio=0.05)``) and a
    ``BadSampleSummaryHook`` is added to ``custom_hooks``. Meant for
    ``tools/train.py`` so that ``--cfg-options skip_bad_samples=True``
    works with every config.
    """
    if not cfg.get('skip_bad_samples', False):
        return cfg
    dataset = cfg.train_dataloader.dataset
    if dataset.get('type') != 'SkipBadSamplesDataset':
        options = dict(cfg.get('skip_bad_samples_cfg', None) or {})
        cfg.train_dataloader.dataset = ConfigDict(
            type='SkipBadSamplesDataset', dataset=dataset, **options)
    hooks = list(cfg.get('custom_hooks', None) or [])
    if summary_hook and not any(
            h.get('type') == 'BadSampleSummaryHook' for h in hooks):
        hooks.append(ConfigDict(type='BadSampleSummaryHook'))
        cfg.custom_hooks = hooks
    return cfg
