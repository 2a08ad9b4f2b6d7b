# Copyright (c) HilDA authors. All rights reserved.
"""The work-dir lock, checked before a tool writes into the work dir."""
import os

from mmengine.config import Config

from ..utils import WorkDirLock


def check_work_dir_free(cfg: Config) -> None:
    """Refuse a work dir that another run holds, before the Runner is built.

    mmengine's Runner dumps the config into the work dir when it is built;
    the run takes its lock later (``AtomicCheckpointHook.before_train``), so
    a refused second run would already have overwritten the running run's
    config dump. Only the main process checks: the other ranks would see
    rank 0's own lock.

    Raises:
        WorkDirLockedError: Naming the run that holds the work dir.
    """
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    if (hook.get('type') == 'AtomicCheckpointHook'
            and hook.get('lock_work_dir', True)
            and os.environ.get('RANK', '0') == '0'):
        WorkDirLock(cfg.work_dir).check_free()
