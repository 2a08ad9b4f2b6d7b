# Copyright (c) HilDA authors. All rights reserved.
"""Which checkpoint ``--resume`` continues from, checked before mmengine
reads it.

mmengine resumes from whatever ``last_checkpoint`` names: an empty
``last_checkpoint`` becomes a blank path, an empty or truncated checkpoint
a bare ``EOFError``/zip error, and an exported weights file (no training
state) a ``KeyError``. :func:`check_resume_checkpoint` turns these into one
line naming the file; :func:`find_resume_checkpoint` (auto-resume) falls
back from a broken newest checkpoint to the newest intact one, saying so.
"""
import glob
import logging
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional

import torch
from mmengine.logging import print_log

from ..errors import ConfigError
from .safe_globals import register_checkpoint_safe_globals

# What mmengine's Runner.resume reads.
TRAINING_STATE_KEYS = ('meta', 'state_dict', 'message_hub')
_STEP = re.compile(r'(?:iter|epoch)_(\d+)\.pth$')


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or None when it can.

    Reads the archive's index and the pickled records (tensors are
    memory-mapped, not read), so it is cheap for large checkpoints.
    """
    if not osp.isfile(path):
        return 'does not exist'
    if osp.getsize(path) == 0:
        return 'is empty (0 bytes)'
    if not zipfile.is_zipfile(path):
        return ('is truncated or not a torch checkpoint (no complete zip '
                'archive)')
    register_checkpoint_safe_globals()
    try:
        checkpoint = torch.load(
            path, map_location='cpu', weights_only=True, mmap=True)
    except Exception as e:  # damaged records
        return f'cannot be read ({type(e).__name__}: {e})'
    if not isinstance(checkpoint, dict):
        return f'holds a {type(checkpoint).__name__}, not a checkpoint dict'
    missing = [k for k in TRAINING_STATE_KEYS if k not in checkpoint]
    if missing:
        return (f'has no training state ({", ".join(missing)} missing): an '
                'exported weights file or a bare state dict; --resume needs '
                'a checkpoint written by tools/train.py (to start from these '
                'weights, set load_from instead)')
    return None


def check_resume_checkpoint(path: str) -> None:
    """Raise :class:`ConfigError` naming ``path`` when it cannot be resumed
    from."""
    problem = checkpoint_problem(path)
    if problem is not None:
        raise ConfigError(f'--resume checkpoint {path} {problem}')


def _candidates(directory: str) -> List[str]:
    """Checkpoints in ``directory``, newest first (by step, then time)."""
    paths = [
        p for p in glob.glob(osp.join(directory, '*.pth'))
        if not osp.basename(p).startswith('.')
    ]

    def key(path):
        match = _STEP.search(osp.basename(path))
        return (int(match.group(1)) if match else -1, osp.getmtime(path))

    return sorted(paths, key=key, reverse=True)


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint auto-resume should continue from.

    ``<work_dir>/last_checkpoint`` names it; when that file is empty, or
    the checkpoint it names is missing, empty, truncated or without
    training state, the newest intact checkpoint of the same directory is
    taken instead (logged, with the reason).

    Returns:
        str | None: The checkpoint, or None when the work dir has none (a
        fresh start).

    Raises:
        ConfigError: When there are checkpoints but none is intact.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
        if named is None:
            print_log(
                f'{pointer} is empty; looking for the newest intact '
                'checkpoint instead',
                logger='current',
                level=logging.WARNING)
    if named and '://' in named:
        return named  # remote storage (s3://...): its uploads are atomic
    directory = osp.dirname(named) if named else work_dir
    order = ([named] if named else []) + [
        p for p in _candidates(directory)
        if not named or osp.abspath(p) != osp.abspath(named)
    ]
    rejected = []
    for path in order:
        problem = checkpoint_problem(path)
        if problem is None:
            if rejected:
                print_log(
                    f'resuming from {path}, the newest intact checkpoint; '
                    'skipped ' + '; '.join(rejected),
                    logger='current',
                    level=logging.WARNING)
            return path
        rejected.append(f'{path} ({problem})')
    if rejected:
        raise ConfigError(f'--resume: no intact checkpoint in {directory}: ' +
                          '; '.join(rejected))
    if os.path.isdir(work_dir):
        print_log(
            f'--resume: no checkpoint in {work_dir}; training from the '
            'start',
            logger='current',
            level=logging.WARNING)
    return None
