# Copyright (c) HilDA authors. All rights reserved.
"""Save and restore the random number generators with each checkpoint.

mmengine (0.10.7) checkpoints the model, optimizer (with the AMP loss
scaler), schedulers and message hub, but no RNG: a resumed run re-seeds and
draws different augmentations (numpy, python ``random``), masks and, with
``noise_per_sample=False``, diffusion noise/timesteps (torch) than the run
it continues (per-sample noise is keyed by sample and iteration instead).
This hook stores the python, numpy, torch CPU and CUDA generator states of
every rank in the checkpoint (``hilda_rng_states``; plain tensors and ints, so
``torch.load(weights_only=True)`` reads them) and puts them back. The states
of the other ranks are gathered by :class:`AtomicCheckpointHook` (on every
rank, before it saves); with another checkpoint hook only rank 0's are
stored, with a warning.

When: ``IterBasedTrainLoop`` resumes by drawing ``runner.iter`` batches from
the dataloader to reach its position (sampler, epoch), which runs the
pipeline and consumes RNG. Restoring in ``after_load_checkpoint`` would be
undone by that, so the states are put back just before the first batch
after the skip is drawn (a thin wrapper around the loop's dataloader
iterator); other loops get them back in ``before_train``. Dataloader
workers seed themselves from ``randomness.seed`` and the skip replays their
draws, so their augmentations match too.
"""
import logging
import random
from typing import List, Optional

import numpy as np
import torch
from mmdet3d.registry import HOOKS
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ...utils.mmengine_compat import loop_iter

CHECKPOINT_KEY = 'hilda_rng_states'


def get_rng_state() -> dict:
    """This process's RNG states, as weights_only-loadable values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(
            kind=str(kind),
            keys=torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    npy = state['numpy']
    np.random.set_state((npy['kind'], npy['keys'].numpy().astype(np.uint32),
                         npy['pos'], npy['has_gauss'], npy['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class _RestoreBeforeBatch:
    """Dataloader-iterator wrapper: after ``skip`` batches, set the RNG
    states, then hand the loop its own iterator back."""

    def __init__(self, loop, skip: int, state: dict) -> None:
        self._loop = loop
        self._inner = loop.dataloader_iterator
        self._skip = skip
        self._state = state

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip == 0:
            set_rng_state(self._state)
            self._loop.dataloader_iterator = self._inner
        else:
            self._skip -= 1
        return next(self._inner)

    def __getattr__(self, name):
        if name == '_inner':
            raise AttributeError(name)
        return getattr(self._inner, name)


@HOOKS.register_module()
class RngStateHook(Hook):
    """Checkpoint the RNG states of all ranks; restore them on resume.

    Add it with ``custom_hooks = [dict(type='RngStateHook')]``. A checkpoint
    without states (older, or saved without this hook) resumes as before,
    with a warning.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._gathered: Optional[List[dict]] = None
        self._warned = False

    def gather_before_save(self, runner) -> None:
        """Collect every rank's states (a collective).

        ``Runner.save_checkpoint`` runs on rank 0 only, so the states cannot
        be gathered in ``before_save_checkpoint`` (the other ranks never get
        there: a collective there hangs). :class:`AtomicCheckpointHook`
        calls this on every rank just before it saves.
        """
        state = get_rng_state()
        self._gathered = (
            all_gather_object(state) if get_world_size() > 1 else [state])

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states, self._gathered = self._gathered, None
        if states is None:  # saved by another hook: no collective here
            states = [get_rng_state()]
            if get_world_size() > 1 and not self._warned:
                self._warned = True
                print_log(
                    'RngStateHook: checkpoint saved without '
                    'AtomicCheckpointHook, so only rank 0\'s RNG states are '
                    'stored; a resume gives them to every rank',
                    logger='current',
                    level=logging.WARNING)
        checkpoint[CHECKPOINT_KEY] = states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get(CHECKPOINT_KEY)
        if not states:
            print_log(
                'RngStateHook: the checkpoint has no RNG states; the '
                'resumed run will draw other random numbers than the '
                'original one',
                logger='current',
                level=logging.WARNING)
            return
        rank = get_rank()
        if len(states) != get_world_size():
            print_log(
                f'RngStateHook: checkpoint from {len(states)} ranks, '
                f'resuming on {get_world_size()}: every rank takes rank 0\'s '
                'RNG states',
                logger='current',
                level=logging.WARNING)
            rank = 0
        self._pending = states[rank]

    def before_train(self, runner) -> None:
        if self._pending is None:
            return
        loop = runner.train_loop
        skip = loop_iter(loop)
        if skip > 0 and hasattr(loop, 'dataloader_iterator'):
            loop.dataloader_iterator = _RestoreBeforeBatch(
                loop, skip, self._pending)
        else:
            set_rng_state(self._pending)
        self._pending = None
