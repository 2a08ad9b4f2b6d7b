# Copyright (c) HilDA authors. All rights reserved.
"""One run per work dir: a second run is refused naming the first; a
lock left by a dead run is taken over."""
import json
import os
import subprocess
import sys

import pytest

from projects.HilDA.hilda.utils.work_dir_lock import (LOCK_NAME, WorkDirLock,
                                                      WorkDirLockedError,
                                                      _host)

HOLD = ('import sys, time\n'
        'sys.path.insert(0, {root!r})\n'
        'from projects.HilDA.hilda.utils.work_dir_lock import WorkDirLock\n'
        'WorkDirLock({work!r}).acquire()\n'
        'print("locked", flush=True)\n'
        'time.sleep(60)\n')


def hold_in_child(work_dir):
    from tests.conftest import REPO_ROOT
    child = subprocess.Popen([
        sys.executable, '-c',
        HOLD.format(root=REPO_ROOT, work=str(work_dir))
    ],
                             stdout=subprocess.PIPE,
                             text=True)
    for line in child.stdout:  # after the plugin's import-time log lines
        if line.strip() == 'locked':
            return child
    raise AssertionError('the child did not take the lock')


def test_second_run_is_refused_naming_the_first(tmp_path):
    child = hold_in_child(tmp_path)
    try:
        with pytest.raises(WorkDirLockedError) as err:
            WorkDirLock(str(tmp_path)).acquire()
        assert f'pid {child.pid} on host {_host()}' in str(err.value)
        assert str(tmp_path) in str(err.value)
    finally:
        child.kill()
        child.wait()


def test_lock_of_a_killed_run_is_taken_over(tmp_path, capsys):
    child = hold_in_child(tmp_path)
    child.kill()  # SIGKILL: no clean-up, the lock file stays
    child.wait()
    assert (tmp_path / LOCK_NAME).exists()
    lock = WorkDirLock(str(tmp_path))
    lock.acquire()
    try:
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder['pid'] == os.getpid()
    finally:
        lock.release()
    assert not (tmp_path / LOCK_NAME).exists()
