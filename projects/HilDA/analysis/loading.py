# Copyright (c) HilDA authors. All rights reserved.
"""Build a pre-trainer from its config and checkpoint, and its samples,
for the analysis tools."""
import argparse
import os.path as osp
from typing import Optional, Tuple

import torch
from mmdet3d.registry import DATASETS, MODELS
from mmdet3d.utils import register_all_modules
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint, set_random_seed

import projects.HilDA.hilda  # noqa: F401  (registers the plugin)
from projects.HilDA.hilda.apis import add_cfg_options, load_config
from projects.HilDA.hilda.errors import ConfigError, HilDAError


class VisualizationError(HilDAError, ValueError):
    """A bad request (sample index, split), reported in one line."""


def load_pretrainer(cfg: Config,
                    checkpoint: Optional[str] = None,
                    device: str = 'cpu') -> torch.nn.Module:
    """Build ``cfg.model`` in eval mode and load a pre-training checkpoint.

    The teacher is not in the checkpoint (by design): it keeps the weights
    it loaded from its own checkpoint when it was built.
    """
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        # strict: a head missing from the checkpoint would draw random
        # weights as if they were learned.
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval()


def val_ann_file(ann_file: str) -> str:
    """The val info file next to a train info file ('train' -> 'val' in
    the file name)."""
    folder, name = osp.split(ann_file)
    if 'train' not in name:
        raise VisualizationError(
            f"ann_file {ann_file!r} has no 'train' in its name; "
            'cannot guess the val info file')
    return osp.join(folder, name.replace('train', 'val'))


def build_pretrain_dataset(cfg: Config, split: str = 'train'):
    """``cfg.train_dataloader.dataset``, on the val info file for
    ``split='val'``."""
    if split not in ('train', 'val'):
        raise VisualizationError(
            f"split must be 'train' or 'val', got {split!r}")
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    if split == 'val':
        dataset_cfg.ann_file = val_ann_file(dataset_cfg.ann_file)
    return DATASETS.build(dataset_cfg)


def prepare_sample(model,
                   dataset,
                   index: int = 0,
                   seed: int = 0) -> Tuple[dict, list]:
    """Load sample ``index`` and run the model's data preprocessor.

    The pipeline's augmentations are random; seeding first makes the
    picture reproducible.

    Returns:
        tuple[dict, list]: ``inputs`` and ``data_samples`` (one sample).
    """
    if not -len(dataset) <= index < len(dataset):
        raise VisualizationError(
            f'index {index} out of range: the dataset holds '
            f'{len(dataset)} samples')
    set_random_seed(seed)
    data = pseudo_collate([dataset[index]])
    with torch.no_grad():
        batch = model.data_preprocessor(data, training=False)
    return batch['inputs'], batch['data_samples']


def add_pretrainer_args(parser: argparse.ArgumentParser) -> None:
    """The arguments every tool on a pre-training checkpoint takes:
    ``config``, ``checkpoint``, ``--device`` and ``--cfg-options``."""
    parser.add_argument('config', help='pre-training config file')
    parser.add_argument('checkpoint', help='pre-training checkpoint (.pth)')
    parser.add_argument('--device', default='cpu', help='torch device')
    add_cfg_options(parser)


def load_pretrainer_config(args: argparse.Namespace) -> Config:
    """The config of :func:`add_pretrainer_args`' arguments, checked, and
    the checkpoint checked to exist (one-line errors)."""
    cfg = load_config(args.config, args.cfg_options)
    if not osp.isfile(args.checkpoint):
        raise ConfigError(f'checkpoint {args.checkpoint} does not exist')
    return cfg
