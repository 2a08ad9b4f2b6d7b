# Copyright (c) HilDA authors. All rights reserved.
"""Which checkpoint ``--resume`` continues from, checked before mmengine
reads it.

mmengine resumes from whatever ``last_checkpoint`` names: an empty
``last_checkpoint`` becomes a blank path, an empty or truncated checkpoint
a bare ``EOFError``/zip error, and an exported weights file (no training
state) a ``KeyError``; and a checkpoint with a flipped byte loads the
wrong weight without a word. :func:`check_resume_checkpoint` turns these
into one line naming the file (the zip CRC-32 and the ``.sha256`` sidecar
are checked too); :func:`find_resume_checkpoint` (auto-resume) falls back
from a broken newest checkpoint to the newest intact one, saying so.

``last_checkpoint`` holds an absolute path (mmengine's format). A work dir
that was copied or moved is resumed from its own files: a path outside the
current work dir is looked up by its name inside it, never read from the
original directory.
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
from .integrity import ChecksumError, check_checkpoint_file
from .safe_globals import register_checkpoint_safe_globals

# What mmengine's Runner.resume reads.
TRAINING_STATE_KEYS = ('meta', 'state_dict', 'message_hub')
_STEP = re.compile(r'(?:iter|epoch)_(\d+)\.pth$')


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or None when it can.

    Reads the whole file once for the zip CRC-32 (and the SHA-256 when
    there is a sidecar); the tensors are memory-mapped, not loaded.
    """
    if not osp.isfile(path):
        return 'does not exist'
    if osp.getsize(path) == 0:
        return 'is empty (0 bytes)'
    if not zipfile.is_zipfile(path):
        return ('is truncated or not a torch checkpoint (no complete zip '
                'archive)')
    try:
        check_checkpoint_file(path)
    except ChecksumError as e:
        return f'fails its integrity check ({e})'
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


def _inside(path: str, directory: str) -> bool:
    """Whether ``path`` lies in ``directory`` (real paths compared)."""
    path, directory = osp.realpath(path), osp.realpath(directory)
    return path == directory or path.startswith(directory + os.sep)


def _pointer_in_work_dir(named: str, work_dir: str) -> Optional[str]:
    """``named`` (from ``last_checkpoint``) as a path inside ``work_dir``.

    A path inside the work dir is kept. One outside it (the work dir was
    copied or moved, so the pointer still names the original directory) is
    replaced by the file of the same name in ``work_dir``, or None when
    there is none; both cases are logged.
    """
    if _inside(named, work_dir):
        return named
    own = osp.join(work_dir, osp.basename(named))
    if osp.isfile(own):
        print_log(
            f'{osp.join(work_dir, "last_checkpoint")} names {named}, outside '
            f'this work dir (copied or moved?); resuming from {own}, its copy '
            'here',
            logger='current',
            level=logging.WARNING)
        return own
    print_log(
        f'{osp.join(work_dir, "last_checkpoint")} names {named}, outside this '
        'work dir, and the work dir has no file of that name; looking for '
        'the newest intact checkpoint here (pass --resume PATH to resume '
        'from a checkpoint elsewhere)',
        logger='current',
        level=logging.WARNING)
    return None


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint auto-resume should continue from.

    ``<work_dir>/last_checkpoint`` names it; a name outside ``work_dir`` is
    looked up inside it (see :func:`_pointer_in_work_dir`). When that file
    is empty, or the checkpoint it names is missing, empty, truncated,
    corrupted (zip CRC, sidecar) or without training state, the newest
    intact checkpoint of the work dir is taken instead (logged, with the
    reason).

    Returns:
        str | None: The checkpoint, or None when the work dir has none (a
        fresh start).

    Raises:
        ConfigError: When there are checkpoints but none is intact, or
            ``last_checkpoint`` names a checkpoint outside the work dir
            and the work dir has none of its own.
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
    outside = None
    if named:
        resolved = _pointer_in_work_dir(named, work_dir)
        outside, named = (named if resolved is None else None), resolved
    order = ([named] if named else []) + [
        p for p in _candidates(work_dir)
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
        raise ConfigError(f'--resume: no intact checkpoint in {work_dir}: ' +
                          '; '.join(rejected))
    if outside is not None:
        raise ConfigError(
            f'--resume: {pointer} names {outside}, outside this work dir, '
            f'and {work_dir} holds no checkpoint; pass --resume {outside} to '
            'resume from it explicitly, or remove last_checkpoint to start '
            'afresh')
    if os.path.isdir(work_dir):
        print_log(
            f'--resume: no checkpoint in {work_dir}; training from the '
            'start',
            logger='current',
            level=logging.WARNING)
    return None
