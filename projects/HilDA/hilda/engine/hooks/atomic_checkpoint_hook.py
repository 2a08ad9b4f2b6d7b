# Copyright (c) HilDA authors. All rights reserved.
"""Checkpoints that a kill during saving cannot destroy.

mmengine (0.10.7) writes a checkpoint with ``open(path, 'wb')`` in place,
writes ``last_checkpoint`` the same way, and, with ``max_keep_ckpts``,
deletes the oldest checkpoint *before* saving the new one. A job killed
while saving (preemption, OOM killer, wall-time limit) can thus leave a
truncated file under the final name, an empty ``last_checkpoint`` or, with
``max_keep_ckpts=1``, no checkpoint at all.

:class:`AtomicCheckpointHook` is mmengine's ``CheckpointHook`` with:

* checkpoint bytes written through :class:`AtomicLocalBackend`
  (``backend_args=dict(backend='atomic_local')``): a temporary file in the
  same directory, fsync, then ``os.replace`` onto the final name;
* ``last_checkpoint`` replaced atomically too, and only after the new
  checkpoint is complete;
* a ``<checkpoint>.sha256`` sidecar written next to each checkpoint
  (local storage), which resume, test and export check;
* old checkpoints (and their sidecars) removed only after that;
* the work dir locked for the run (:class:`~hilda.utils.WorkDirLock`): a
  second run in the same work dir stops with an error naming the first
  (pid, host); a lock left by a killed run is taken over, with a log line;
* at start-up, temporary files of a killed save removed, but only those
  provably stale (their writer, named in the file name, was a process of
  this host that no longer runs); others are left and logged;
* the batch size, world size and learning rate of the run recorded in the
  checkpoint's meta, and a warning naming old and new values when a run
  resumes with others (the resumed optimizer and schedulers keep the
  checkpoint's learning rate; a config change of ``lr`` has no effect).
"""
import glob
import logging
import os
import os.path as osp
from pathlib import Path
from typing import Union

from mmdet3d.registry import HOOKS
from mmengine.dist import get_world_size, is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from ...checkpoints.integrity import (SIDECAR_SUFFIX, atomic_write,
                                      write_sidecar)
from ...utils.mmengine_compat import is_resuming
from ...utils.work_dir_lock import WorkDirLock, stale_temporary_files

ATOMIC_BACKEND = 'atomic_local'
SETTINGS_KEY = 'hilda_train_settings'


def _write_all(f, data: Union[bytes, str]) -> None:
    # One place for the actual write (tests interrupt it half-way).
    f.write(data)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose ``put``/``put_text`` replace the
    target atomically (temporary file + ``os.replace``)."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:

        def write(tmp):
            with open(tmp, 'wb') as f:
                _write_all(f, obj)

        atomic_write(str(filepath), write)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:

        def write(tmp):
            with open(tmp, 'w', encoding=encoding) as f:
                _write_all(f, obj)

        atomic_write(str(filepath), write)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose saves are atomic (see the module docstring).

    Takes ``CheckpointHook``'s arguments. Without ``backend_args`` or
    ``file_client_args`` and with a local ``out_dir`` it writes through
    :class:`AtomicLocalBackend`; a remote ``out_dir`` (``s3://`` ...) keeps
    its own backend, whose uploads are atomic objects already.

    Args:
        lock_work_dir (bool): Hold an exclusive lock on the work dir while
            training (main process). Defaults to True.
        *args, **kwargs: ``CheckpointHook``'s arguments.
    """

    def __init__(self, *args, lock_work_dir: bool = True, **kwargs) -> None:
        self.lock_work_dir = lock_work_dir
        self._lock = None
        out_dir = kwargs.get('out_dir')
        local = out_dir is None or '://' not in str(out_dir)
        if (local and kwargs.get('backend_args') is None
                and kwargs.get('file_client_args') is None):
            kwargs['backend_args'] = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, **kwargs)

    def after_train(self, runner) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @staticmethod
    def _train_settings(runner) -> dict:
        """What a resumed run should keep: batch sizes and the base lr."""
        cfg = runner.cfg
        batch_size = (cfg.get('train_dataloader') or {}).get('batch_size')
        optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
        return dict(
            batch_size_per_gpu=batch_size,
            world_size=get_world_size(),
            lr=optimizer.get('lr'))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        super().before_save_checkpoint(runner, checkpoint)
        checkpoint.setdefault('meta', {})[SETTINGS_KEY] = \
            self._train_settings(runner)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        super().after_load_checkpoint(runner, checkpoint)
        old = (checkpoint.get('meta') or {}).get(SETTINGS_KEY)
        if not is_resuming(runner) or not old:
            return
        new = self._train_settings(runner)
        changed = [
            f'{key} {old.get(key)} -> {new[key]}' for key in new
            if old.get(key) is not None and new[key] is not None
            and old.get(key) != new[key]
        ]
        if not changed:
            return
        msg = ('resuming with other training settings than the checkpoint '
               'was trained with: ' + ', '.join(changed))
        if old.get('lr') != new['lr']:
            msg += ('; the resumed optimizer and schedulers keep the '
                    "checkpoint's learning rate, so the new lr has no "
                    'effect (start a new run with load_from to change it)')
        if (old.get('batch_size_per_gpu'),
                old.get('world_size')) != (new['batch_size_per_gpu'],
                                           new['world_size']):
            msg += ('; the data order and the iterations per epoch differ '
                    'from the original run, so it is not reproduced exactly')
        print_log(msg, logger='current', level=logging.WARNING)

    def before_train(self, runner) -> None:
        # Training only: tools/test.py may evaluate a checkpoint of a run
        # that is still training in the same work dir.
        if self.lock_work_dir and is_main_process():
            self._lock = WorkDirLock(runner.work_dir)
            self._lock.acquire()
        super().before_train(runner)
        if not is_main_process() or '://' in str(self.out_dir):
            return
        # Left by a save that was killed (temporary names: .<name>.*.tmp).
        found = glob.glob(osp.join(str(self.out_dir), '.*.pth.*.tmp'))
        found += glob.glob(osp.join(runner.work_dir, '.last_checkpoint.*.tmp'))
        stale, undecided = stale_temporary_files(sorted(set(found)))
        for path in stale:
            os.remove(path)
            print_log(
                f'removed {path}, left by an interrupted checkpoint save '
                '(its writer no longer runs)',
                logger='current',
                level=logging.WARNING)
        for path in undecided:
            print_log(
                f'left {path} in place: a temporary checkpoint file whose '
                'writer cannot be shown to have ended (another host, or an '
                'older HilDA); delete it if no other run writes here',
                logger='current',
                level=logging.WARNING)

    def _save_checkpoint_with_step(self, runner, step, meta):
        remove_step = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                # Removed below, once the new checkpoint is safely written.
                remove_step = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        # Runner.save_checkpoint (and its before_save_checkpoint hooks) runs
        # on rank 0 only; what needs every rank (RngStateHook's states) is
        # collected here, where all ranks are.
        for hook in runner.hooks:
            gather = getattr(hook, 'gather_before_save', None)
            if callable(gather):
                gather(runner)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        if '://' not in str(self.last_ckpt):
            write_sidecar(str(self.last_ckpt))
        AtomicLocalBackend().put_text(
            str(self.last_ckpt), osp.join(runner.work_dir, 'last_checkpoint'))
        if remove_step is not None:
            old = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(remove_step))
            if self.file_backend.isfile(old):
                self.file_backend.remove(old)
                if self.file_backend.isfile(old + SIDECAR_SUFFIX):
                    self.file_backend.remove(old + SIDECAR_SUFFIX)
            elif self.file_backend.isdir(old):
                self.file_backend.rmtree(old)
