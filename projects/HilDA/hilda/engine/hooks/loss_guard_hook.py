# Copyright (c) HilDA authors. All rights reserved.
"""Stop (or skip) a training step whose loss is NaN/inf, before it lands.

Where the guard sits, and why: mmengine's ``train_step`` runs forward,
``parse_losses`` and ``optim_wrapper.update_params(loss)`` (backward, step,
zero_grad) in one call, so by ``after_train_iter`` a NaN loss has already
been back-propagated into the weights. The hook therefore installs itself on
the run's objects when training starts:

* ``optim_wrapper.update_params`` is wrapped: the summed loss is checked
  *before* backward, and (plain float32 wrappers) the gradients are checked
  before ``optimizer.step``; a bad step either raises
  :class:`NonFiniteLossError` or is dropped without touching the weights;
* the model's ``parse_losses`` is wrapped to remember the per-term losses
  of the step (a skipped step's non-finite values are kept out of the
  log, whose window mean would show NaN for the next iterations), and
  ``before_train_iter`` remembers the sample ids (token, LiDAR path) of
  the batch, so the message says which term and which samples;
* ``before_save_checkpoint`` refuses to write weights that are not finite.

A skipped step leaves the model exactly as it was before the step: the
forward pass has already updated the buffers (BatchNorm running statistics
and ``num_batches_tracked``) with the bad batch, so with ``action='skip'``
the buffers are copied in ``before_train_iter`` and put back when the step
is dropped.

The methods are replaced on the live objects through
:func:`~...utils.mmengine_compat.replace_method` (mmengine has no hook
between the loss and the backward pass). This works with any optim
wrapper type a config names (``OptimWrapper``,
``AmpOptimWrapper``: its GradScaler already skips inf/NaN gradients, so
only the loss is checked there) and needs no change to the model. In a
distributed run the ranks agree on the decision (one all-reduce of a flag),
so they skip or stop together instead of hanging in a collective.
"""
import logging
import math
from typing import Dict, List, Optional, Sequence

import torch
from mmdet3d.registry import HOOKS
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict

from ...errors import HilDAError
from ...utils.mmengine_compat import replace_method

DEFAULT_ID_KEYS = ('token', 'lidar_path', 'sample_idx')


class NonFiniteLossError(HilDAError, FloatingPointError):
    """A training step produced a NaN/inf loss or gradient."""


def _detached(value):
    """A loss (tensor or list of tensors) without its graph."""
    if isinstance(value, (list, tuple)):
        return [v.detach() for v in value]
    return value.detach()


def _sample_ids(data_batch, id_keys: Sequence[str]) -> List[str]:
    """``key=value`` strings identifying each sample of a batch."""
    samples = data_batch.get('data_samples') if isinstance(data_batch,
                                                           dict) else None
    ids = []
    for sample in samples or []:
        meta = getattr(sample, 'metainfo', {})
        parts = [f'{k}={meta[k]}' for k in id_keys if k in meta]
        ids.append(' '.join(parts) or '?')
    return ids


@HOOKS.register_module()
class LossGuardHook(Hook):
    """Guard training against NaN/inf losses (and gradients).

    Args:
        action (str): ``'raise'`` stops the run with
            :class:`NonFiniteLossError` naming the iteration, the non-finite
            loss terms and the sample ids; ``'skip'`` logs the same and drops
            the step (no backward, no optimizer step, gradients cleared,
            buffers such as BatchNorm statistics restored to their values
            before the step). Defaults to ``'raise'``.
        max_consecutive_skips (int): With ``'skip'``, raise anyway after this
            many bad steps in a row (the run has diverged). Defaults to 10.
        check_grads (bool): Also check the gradients of a finite loss before
            the optimizer step (not for ``AmpOptimWrapper``, whose scaler
            handles them). Defaults to True.
        id_keys (Sequence[str]): Metainfo keys of the data samples that
            identify them in messages. Defaults to
            ``('token', 'lidar_path', 'sample_idx')``.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 action: str = 'raise',
                 max_consecutive_skips: int = 10,
                 check_grads: bool = True,
                 id_keys: Sequence[str] = DEFAULT_ID_KEYS) -> None:
        if action not in ('raise', 'skip'):
            raise ValueError(f"action must be 'raise' or 'skip', got "
                             f'{action!r}')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.check_grads = check_grads
        self.id_keys = tuple(id_keys)
        self.skipped_iters: List[int] = []
        self._consecutive = 0
        self._runner = None
        self._batch_ids: List[str] = []
        self._terms: Dict[str, float] = {}
        self._log_vars: dict = {}
        self._saved_buffers: List[tuple] = []

    # Installation ---------------------------------------------------------
    def before_train(self, runner) -> None:
        self._runner = runner
        wrappers = runner.optim_wrapper
        wrappers = (
            wrappers.values()
            if isinstance(wrappers, OptimWrapperDict) else [wrappers])
        for wrapper in wrappers:
            self._guard_optim_wrapper(wrapper)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._guard_parse_losses(model)

    def _guard_parse_losses(self, model) -> None:

        def wrap(parse_losses):

            def guarded_parse_losses(losses):
                parsed, log_vars = parse_losses(losses)
                # Per-term values of this step, read only if a check fails;
                # log_vars is what train_step returns for the log.
                self._terms = {
                    k: _detached(v)
                    for k, v in losses.items() if 'loss' in k
                }
                self._log_vars = log_vars
                return parsed, log_vars

            return guarded_parse_losses

        replace_method(model, 'parse_losses', wrap)

    def _guard_optim_wrapper(self, wrapper) -> None:
        check_grads = self.check_grads and not isinstance(
            wrapper, AmpOptimWrapper)

        def wrap_update_params(update_params):

            def guarded_update_params(loss, *args, **kwargs):
                if not self._all_ranks_finite(loss.detach()):
                    self._bad_step(wrapper, 'loss', loss)
                    return None
                return update_params(loss, *args, **kwargs)

            return guarded_update_params

        def wrap_step(step):

            def guarded_step(*args, **kwargs):
                if check_grads:
                    grads = [
                        p.grad.detach() for group in wrapper.param_groups
                        for p in group['params'] if p.grad is not None
                    ]
                    finite = torch.stack([
                        torch.isfinite(g).all() for g in grads
                    ]).all() if grads else torch.tensor(True)
                    # A flag is always finite: NaN stands for a bad gradient.
                    flag = torch.where(finite, 0.0, float('nan')).reshape(1)
                    if not self._all_ranks_finite(flag):
                        self._bad_step(wrapper, 'gradient', None)
                        return None
                self._consecutive = 0
                return step(*args, **kwargs)

            return guarded_step

        replace_method(wrapper, 'update_params', wrap_update_params)
        replace_method(wrapper, 'step', wrap_step)

    # Checks ---------------------------------------------------------------
    @staticmethod
    def _all_ranks_finite(value: torch.Tensor) -> bool:
        bad = (~torch.isfinite(value)).any().float().reshape(1)
        if get_world_size() > 1:
            all_reduce(bad, op='sum')
        return bool(bad.item() == 0)

    def _message(self, what: str, loss: Optional[torch.Tensor]) -> str:
        runner = self._runner
        it = runner.iter if runner is not None else -1
        terms = {}
        for name, value in self._terms.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            total = sum(float(v.sum()) for v in values)
            terms[name] = total
        bad_terms = {k: v for k, v in terms.items() if not math.isfinite(v)}
        msg = f'non-finite {what} at iteration {it + 1} (runner.iter={it})'
        if loss is not None:
            msg += f': loss={float(loss.detach())}'
        if bad_terms:
            msg += '; non-finite terms: ' + ', '.join(
                f'{k}={v}' for k, v in bad_terms.items())
        elif what == 'gradient':
            msg += '; all loss terms finite: ' + ', '.join(
                f'{k}={v:.4g}' for k, v in terms.items())
        msg += '; samples: ' + ('; '.join(self._batch_ids) or 'unknown')
        return msg

    def _bad_step(self, wrapper, what: str,
                  loss: Optional[torch.Tensor]) -> None:
        msg = self._message(what, loss)
        if self.action == 'raise':
            raise NonFiniteLossError(
                msg + " (LossGuardHook action='raise'; the weights of the "
                "previous step are intact, no checkpoint was written)")
        self._consecutive += 1
        it = self._runner.iter if self._runner is not None else -1
        self.skipped_iters.append(it)
        # Dropped: the weights and optimizer state stay as they were; the
        # buffers the forward pass changed are put back.
        wrapper.zero_grad()
        self._restore_buffers()
        self._drop_non_finite_log_vars()
        if self._consecutive > self.max_consecutive_skips:
            raise NonFiniteLossError(
                f'{msg} ({self._consecutive} bad steps in a row, more than '
                f'max_consecutive_skips={self.max_consecutive_skips})')
        print_log(
            f'LossGuardHook: skipped the step: {msg}',
            logger='current',
            level=logging.WARNING)

    def _drop_non_finite_log_vars(self) -> None:
        """Keep a skipped step's NaN/inf out of the logged values: mmengine
        logs the mean over a window of iterations, so one NaN would show
        as the loss of the next ``window_size`` iterations."""
        for key in [
                k for k, v in self._log_vars.items()
                if not torch.isfinite(torch.as_tensor(v)).all()
        ]:
            del self._log_vars[key]

    # Hook points ----------------------------------------------------------
    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        self._batch_ids = _sample_ids(data_batch, self.id_keys)
        self._terms = {}
        self._log_vars = {}
        if self.action == 'skip':
            self._save_buffers(runner)

    def _save_buffers(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._saved_buffers = [(buf, buf.detach().clone())
                               for buf in model.buffers()]

    @torch.no_grad()
    def _restore_buffers(self) -> None:
        for buf, saved in self._saved_buffers:
            buf.copy_(saved)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = [
            k for k, v in checkpoint.get('state_dict', {}).items()
            if torch.is_tensor(v) and v.is_floating_point()
            and not torch.isfinite(v).all()
        ]
        if bad:
            raise NonFiniteLossError(
                f'refusing to save a checkpoint at iteration {runner.iter}: '
                f'{len(bad)} tensors hold NaN/inf, e.g. {bad[:3]}')

    def after_train(self, runner) -> None:
        if self.skipped_iters:
            print_log(
                f'LossGuardHook: skipped {len(self.skipped_iters)} steps '
                f'with a non-finite loss or gradient (runner.iter '
                f'{self.skipped_iters})',
                logger='current',
                level=logging.WARNING)
