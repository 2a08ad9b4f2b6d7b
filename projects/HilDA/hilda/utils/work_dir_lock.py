# Copyright (c) HilDA authors. All rights reserved.
"""One training run per work dir, and which temporary files are stale.

Two runs in one work dir overwrite each other's checkpoints and
``last_checkpoint``, and a run's start-up clean-up could delete the other's
checkpoint while it is being written. :class:`WorkDirLock` holds an
exclusive ``flock`` on ``<work_dir>/.hilda-run.lock`` for the run's
lifetime; the file also records the holder (pid, host, start time), which
the error message of a second run names. The kernel releases a ``flock``
when its process dies, however it dies, so a lock file left by a killed run
is taken over (and said so in the log). On a file system without ``flock``
the recorded pid decides: a lock of a dead process on this host is taken
over, any other is refused.

Temporary files of :func:`~..checkpoints.integrity.atomic_write` carry their
writer's pid and host in their name; :func:`stale_temporary_files` returns
only those whose writer is provably gone (this host, process not running).
"""
import errno
import json
import logging
import os
import os.path as osp
import re
import socket
import sys
import time
from typing import List, Optional, Tuple

from mmengine.logging import print_log

from ..errors import ConfigError

LOCK_NAME = '.hilda-run.lock'
# .<target name>.pid<pid>@<host>.<random>.tmp (see writer_tag).
_TAG = re.compile(r'\.pid(\d+)@([^.]+)\.[^.]*\.tmp$')

# Locks held by this process, by lock path: a run that ended with an
# exception never reached after_run, and its lock must not block the next
# run of the same process (runs in one process are sequential).
_HELD = {}


class WorkDirLockedError(ConfigError):
    """Another run holds the work dir."""


def _host() -> str:
    # Dots would make the tag ambiguous in file names.
    return socket.gethostname().replace('.', '_') or 'unknown'


def writer_tag() -> str:
    """``pid<pid>@<host>``: names a temporary file's writer."""
    return f'pid{os.getpid()}@{_host()}'


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def temporary_file_writer(path: str) -> Optional[Tuple[int, str]]:
    """(pid, host) from a temporary file's name; None when untagged."""
    match = _TAG.search(osp.basename(path))
    return (int(match.group(1)), match.group(2)) if match else None


def stale_temporary_files(paths: List[str]) -> Tuple[List[str], List[str]]:
    """Split temporary files into (provably stale, undecided).

    Stale: written by a process of this host that no longer runs.
    Undecided: untagged (older HilDA) or from another host.
    """
    stale, undecided = [], []
    for path in paths:
        writer = temporary_file_writer(path)
        if writer is not None and writer[1] == _host() and \
                not pid_alive(writer[0]):
            stale.append(path)
        else:
            undecided.append(path)
    return stale, undecided


class WorkDirLock:
    """Exclusive lock of a work dir for one run.

    Args:
        work_dir (str): The run's work dir (created if missing).
    """

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self._file = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._file is not None

    def _holder(self) -> dict:
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    @staticmethod
    def _describe(holder: dict) -> str:
        if not holder:
            return 'an unknown run'
        return (f"pid {holder.get('pid')} on host {holder.get('host')} "
                f"(started {holder.get('started')}, work dir lock written "
                f"by {holder.get('argv', '?')})")

    def acquire(self) -> None:
        """Take the lock, or raise :class:`WorkDirLockedError` naming the
        run that holds it."""
        if self.held:
            return
        os.makedirs(self.work_dir, exist_ok=True)
        earlier = _HELD.get(osp.realpath(self.path))
        if earlier is not None:
            print_log(
                f'{self.path}: a run of this process that did not finish '
                'held this work dir; taking its lock over',
                logger='current',
                level=logging.WARNING)
            earlier.release()
        while True:
            previous = self._holder()
            f = open(self.path, 'a+')
            if self._lock_file(f, previous):
                break
            f.close()  # removed by its releasing holder meanwhile: retry
        if previous and previous.get('pid') != os.getpid():
            print_log(
                f'taking over the work-dir lock {self.path} of '
                f'{self._describe(previous)}: that run is no longer running',
                logger='current',
                level=logging.WARNING)
        f.seek(0)
        f.truncate()
        json.dump(
            dict(
                pid=os.getpid(),
                host=_host(),
                started=time.strftime('%Y-%m-%d %H:%M:%S'),
                argv=' '.join(sys.argv)[:200]), f)
        f.flush()
        self._file = f
        _HELD[osp.realpath(self.path)] = self

    def check_free(self) -> None:
        """Raise :class:`WorkDirLockedError` when another run holds the
        lock; takes nothing.

        For tools to call before they write into the work dir: mmengine's
        Runner dumps the config there when it is built, before the run
        takes the lock (``AtomicCheckpointHook.before_train``).
        """
        if not osp.isfile(self.path) or osp.realpath(self.path) in _HELD:
            return
        previous = self._holder()
        try:
            f = open(self.path)
        except FileNotFoundError:  # released meanwhile
            return
        try:
            self._lock_file(f, previous)
        finally:
            f.close()  # closing gives a flock taken here back

    def _lock_file(self, f, previous: dict) -> bool:
        """flock ``f``; False when the path no longer names its file."""
        try:
            import fcntl
        except ImportError:  # not POSIX
            self._check_pid_lock(previous, None)
            return True
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                f.close()
                raise WorkDirLockedError(
                    f'work dir {self.work_dir} is in use by another run: '
                    f'{self._describe(self._holder())}; wait for it to end '
                    'or use another --work-dir') from None
            # No flock on this file system: the recorded pid decides.
            self._check_pid_lock(previous, e)
            return True
        try:
            return os.fstat(f.fileno()).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    def _check_pid_lock(self, previous: dict,
                        error: Optional[OSError]) -> None:
        if not previous:
            return
        same_host = previous.get('host') == _host()
        pid = previous.get('pid')
        if same_host and isinstance(pid, int) and not pid_alive(pid):
            return
        if same_host and pid == os.getpid():
            return
        raise WorkDirLockedError(
            f'work dir {self.work_dir} may be in use by another run: '
            f'{self._describe(previous)} (this file system has no flock'
            f'{": " + str(error) if error else ""}, so only a dead process '
            f'on this host can be detected); delete {self.path} if that run '
            'has ended')

    def release(self) -> None:
        """Give the lock up and remove the lock file."""
        if self._file is None:
            return
        _HELD.pop(osp.realpath(self.path), None)
        try:
            os.remove(self.path)
        except OSError:
            pass
        try:
            import fcntl
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        except (ImportError, OSError):
            pass
        self._file.close()
        self._file = None
