# Copyright (c) HilDA authors. All rights reserved.
"""Check, before training starts, that pre-trained weights really loaded.

mmengine loads ``init_cfg=dict(type='Pretrained', ...)`` and ``load_from``
non-strictly: a wrong ``prefix``, a checkpoint exported for another model
(``--target``) or renamed parameters load nothing and training goes on
from random weights, with at most a "missing keys" warning in the log.
This hook compares the module's tensors with the checkpoint's after
loading and fails loudly when too few of them came from it.

Before anything loads (``before_run``), it also checks the file itself: its
SHA-256 against the ``<file>.sha256`` sidecar of a HilDA export (a missing
sidecar is a warning, or an error with ``require_sidecar=True``), and that
some key starts with the prefix, so a truncated or wrong-prefix export ends
in one line naming the file instead of a loader traceback.
"""
import logging
import os.path as osp
from typing import Dict, Optional, Tuple

import torch
from mmdet3d.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop, CheckpointLoader
from torch import Tensor, nn

from ...checkpoints import (SIDECAR_SUFFIX, check_checkpoint_file,
                            is_sparse_conv_weight, recorded_sha256,
                            spconv2_weight)
from ...errors import HilDAError
from ...utils.mmengine_compat import train_loop_or_cfg


class PretrainedWeightsError(HilDAError, RuntimeError):
    """Too few of a module's tensors came from its pre-trained checkpoint."""


def _same(name: str, value: Tensor, stored: Tensor) -> bool:
    """``value`` (the module's ``name``) equals ``stored`` as loaded by
    mmdet3d.

    Sparse-convolution weights may be stored in mmcv's spconv-1 layout
    ``(D, H, W, in, out)``, which mmdet3d's loader permutes into spconv-2's
    ``(out, D, H, W, in)``; both layouts are accepted.
    """
    stored = stored.to(device=value.device, dtype=value.dtype)
    if stored.shape == value.shape and torch.equal(stored, value):
        return True
    if is_sparse_conv_weight(name, stored):
        stored = spconv2_weight(stored)
        return stored.shape == value.shape and torch.equal(stored, value)
    return False


def compare_with_checkpoint(module: nn.Module,
                            state_dict: Dict[str, Tensor],
                            prefix: str = '') -> dict:
    """Count the tensors of ``module`` that equal the checkpoint's.

    Args:
        module (nn.Module): The module after weight loading.
        state_dict (dict[str, Tensor]): The checkpoint's state dict.
        prefix (str): Key prefix of the module's tensors in ``state_dict``
            (e.g. ``'backbone.'``).

    Returns:
        dict: ``loaded``/``total`` tensors and ``loaded_numel``/
        ``total_numel`` values (parameters and buffers, without BN's
        ``num_batches_tracked``), ``ratio`` (= loaded_numel / total_numel),
        and the names of the ``missing`` tensors (no such key) and the
        ``different`` ones (key present, other value or shape).
    """
    report = dict(
        loaded=0,
        total=0,
        loaded_numel=0,
        total_numel=0,
        missing=[],
        different=[])
    for name, value in module.state_dict().items():
        if name.endswith('num_batches_tracked'):
            continue
        report['total'] += 1
        report['total_numel'] += value.numel()
        stored = state_dict.get(prefix + name)
        if stored is None:
            report['missing'].append(name)
        elif _same(name, value, stored):
            report['loaded'] += 1
            report['loaded_numel'] += value.numel()
        else:
            report['different'].append(name)
    report['ratio'] = (
        report['loaded_numel'] /
        report['total_numel'] if report['total_numel'] else 0.)
    return report


def _pretrained_init_cfg(module: nn.Module) -> Optional[dict]:
    """The ``Pretrained`` entry of the module's ``init_cfg``, if any."""
    init_cfg = getattr(module, 'init_cfg', None)
    for cfg in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            return cfg
    return None


@HOOKS.register_module()
class PretrainedWeightsCheckHook(Hook):
    """Fail before the first iteration when pre-trained weights did not load.

    After ``init_weights`` and ``load_from`` (i.e. in ``before_train``), the
    tensors of ``module`` are compared with those of the checkpoint they
    should come from (spconv-1 exported layouts included). The share loaded
    is logged; a :class:`PretrainedWeightsError` naming the checkpoint, the
    prefix and the counts is raised when it is below ``min_loaded_ratio``
    (or nothing loaded at all).

    Where the checkpoint comes from, unless given:

    1. the module's ``init_cfg=dict(type='Pretrained', checkpoint=...,
       prefix=...)`` (prefix: that of the init_cfg, '' without one);
    2. otherwise the runner's ``load_from`` (prefix: ``module + '.'``).

    A resumed run is not checked (its weights come from the resumed
    checkpoint); this is logged.

    Args:
        module (str): Dotted path of the module in the model, e.g.
            ``'backbone'`` (MinkUNet), ``'pts_middle_encoder'``
            (CenterPoint), ``'middle_encoder'`` (SECOND).
            Defaults to 'backbone'.
        checkpoint (str, optional): Checkpoint to compare with. Defaults to
            None (see above).
        prefix (str, optional): Prefix of the module's keys in the
            checkpoint. Defaults to None (see above).
        min_loaded_ratio (float): Smallest share of the module's values
            (parameters and BN statistics) that must equal the checkpoint's.
            Defaults to 1.0.
        require_sidecar (bool): Refuse a local checkpoint without a
            ``.sha256`` sidecar (or ``-<hash8>.pth`` name) instead of
            warning. Defaults to False.
    """
    priority = 'VERY_HIGH'

    def __init__(self,
                 module: str = 'backbone',
                 checkpoint: Optional[str] = None,
                 prefix: Optional[str] = None,
                 min_loaded_ratio: float = 1.0,
                 require_sidecar: bool = False) -> None:
        if not 0.0 < min_loaded_ratio <= 1.0:
            raise ValueError('min_loaded_ratio must be in (0, 1], got '
                             f'{min_loaded_ratio}')
        self.module = module
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.min_loaded_ratio = min_loaded_ratio
        self.require_sidecar = require_sidecar
        self.report: Optional[dict] = None
        self._loaded: Optional[Tuple[str, dict]] = None

    def _target(self, runner) -> nn.Module:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        target = model
        for part in self.module.split('.'):
            if not hasattr(target, part):
                raise PretrainedWeightsError(
                    f'PretrainedWeightsCheckHook: {type(model).__name__} has '
                    f'no module "{self.module}" (set module= to the '
                    'pre-trained part, e.g. backbone or pts_middle_encoder)')
            target = getattr(target, part)
        return target

    def _source(self, runner, target: nn.Module) -> Tuple[str, str, str]:
        """(checkpoint, prefix, where it was found)."""
        if self.checkpoint is not None:
            prefix = self.module + '.' if self.prefix is None else \
                self.prefix
            return self.checkpoint, prefix, 'hook argument'
        init_cfg = _pretrained_init_cfg(target)
        if init_cfg is not None:
            prefix = init_cfg.get('prefix') or ''
            if self.prefix is not None:
                prefix = self.prefix
            elif prefix and not prefix.endswith('.'):
                prefix += '.'  # as mmengine's loader does
            return init_cfg['checkpoint'], prefix, \
                f'model.{self.module}.init_cfg'
        load_from = runner.cfg.get('load_from')
        if load_from:
            prefix = self.module + '.' if self.prefix is None else \
                self.prefix
            return load_from, prefix, 'load_from'
        raise PretrainedWeightsError(
            f'PretrainedWeightsCheckHook: no pre-trained checkpoint for '
            f'"{self.module}": set model.{self.module}.init_cfg='
            "dict(type='Pretrained', checkpoint=..., prefix=...), load_from "
            'or the hook\'s checkpoint (or remove the hook to train from '
            'scratch)')

    def _state_dict(self, checkpoint: str) -> dict:
        """The checkpoint's state dict (read once for both checks)."""
        if self._loaded is None or self._loaded[0] != checkpoint:
            try:
                loaded = CheckpointLoader.load_checkpoint(
                    checkpoint, map_location='cpu')
            except FileNotFoundError:
                raise
            except Exception as e:  # truncated/garbled file
                raise PretrainedWeightsError(
                    f'{checkpoint}: cannot be read as a checkpoint '
                    f'({type(e).__name__}: {e})') from e
            self._loaded = (checkpoint, loaded.get('state_dict', loaded))
        return self._loaded[1]

    def before_run(self, runner) -> None:
        """Check the file before the weights are loaded from it."""
        # Runner.train builds the train loop before before_run; test/val
        # leave it a config (or None) and load no pre-trained weights.
        if not isinstance(train_loop_or_cfg(runner), BaseLoop):
            return
        if runner.cfg.get('resume'):
            return
        target = self._target(runner)
        checkpoint, prefix, where = self._source(runner, target)
        if osp.isfile(checkpoint):
            check_checkpoint_file(
                checkpoint, require_sidecar=self.require_sidecar)
            if recorded_sha256(checkpoint) is None:
                print_log(
                    f'PretrainedWeightsCheckHook: {checkpoint} has no '
                    f'{osp.basename(checkpoint)}{SIDECAR_SUFFIX} sidecar, so '
                    'its integrity is not checked (HilDA exports have one; '
                    'require_sidecar=True refuses such files)',
                    logger='current',
                    level=logging.WARNING)
        state_dict = self._state_dict(checkpoint)
        if prefix and not any(k.startswith(prefix) for k in state_dict):
            example = next(iter(state_dict), None)
            raise PretrainedWeightsError(
                f'{checkpoint}: no key starts with "{prefix}" (the prefix '
                f'from {where}); its {len(state_dict)} keys start like '
                f'"{example}". Check the prefix and the export target '
                '(tools/model_converters/hilda_to_mmdet3d.py --target).')

    def before_train(self, runner) -> None:
        """Compare, log, and raise when too little was loaded."""
        if runner.cfg.get('resume'):
            print_log(
                'PretrainedWeightsCheckHook: resumed run, the weights come '
                'from the resumed checkpoint; not checked',
                logger='current')
            return
        target = self._target(runner)
        checkpoint, prefix, where = self._source(runner, target)
        state_dict = self._state_dict(checkpoint)
        self._loaded = None  # not needed any more
        report = compare_with_checkpoint(target, state_dict, prefix)
        self.report = report
        summary = (f'{report["loaded"]}/{report["total"]} tensors, '
                   f'{report["loaded_numel"]}/{report["total_numel"]} '
                   f'values ({100 * report["ratio"]:.1f}%) of '
                   f'"{self.module}" equal checkpoint {checkpoint} '
                   f'(prefix "{prefix}", from {where})')
        if report['loaded'] == 0 or report['ratio'] < self.min_loaded_ratio:
            with_prefix = [k for k in state_dict if k.startswith(prefix)]
            example = next(iter(state_dict), None)
            raise PretrainedWeightsError(
                f'pre-trained weights not loaded: {summary}; required '
                f'{100 * self.min_loaded_ratio:.1f}%. '
                f'{len(report["missing"])} tensors have no key in the '
                f'checkpoint (e.g. "{prefix}{(report["missing"] or [""])[0]}'
                f'"), {len(report["different"])} differ; the checkpoint has '
                f'{len(state_dict)} keys, {len(with_prefix)} starting with '
                f'"{prefix}" (first key: "{example}"). Check the prefix and '
                'the export target (tools/model_converters/'
                'hilda_to_mmdet3d.py --target).')
        level = logging.INFO if report['ratio'] == 1.0 else logging.WARNING
        print_log(
            f'PretrainedWeightsCheckHook: {summary}',
            logger='current',
            level=level)
