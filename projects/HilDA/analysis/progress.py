# Copyright (c) HilDA authors. All rights reserved.
"""Terminal progress of child training runs, read from their mmengine logs.

The tools that start trainings (``tools/finetune_demo.py``,
``tools/benchmarks/probe_table.py``) keep each child's output in its work
dir; :class:`ChildRunProgress` follows those logs from a background thread
and shows one tqdm bar over all of them: iterations done out of planned,
the rate, the time left, and per running child its last logged
``Iter(train) [i/n]`` (or its evaluation).
"""
import glob
import os
import os.path as osp
import re
import sys
import threading
from typing import Dict, List, Optional, Tuple

from tqdm import tqdm

# mmengine's LoggerHook lines: "Iter(train) [ 40/200]  ...",
# "Iter(val) [ 5/20] ..."; tools may log other phases the same way.
ITER_RE = re.compile(r'Iter\((\w+)\)\s*\[\s*(\d+)/(\d+)\]')
TAIL_BYTES = 65536


def logged_iters(path: str) -> List[Tuple[str, int, int]]:
    """Every ``(phase, iteration, total)`` in the last 64 KiB of a log
    (mmengine's ``<timestamp>.log`` or a captured stdout), oldest first;
    empty when the file does not exist (yet)."""
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - TAIL_BYTES))
            text = f.read().decode('utf-8', errors='replace')
    except OSError:
        return []
    return [(p, int(i), int(n)) for p, i, n in ITER_RE.findall(text)]


def last_logged_iter(
        path: str,
        phase: Optional[str] = None) -> Optional[Tuple[str, int, int]]:
    """The last ``(phase, iteration, total)`` a log reports (of ``phase``
    only, when given), e.g. ``('train', 40, 200)``; None when there is
    none."""
    found = [x for x in logged_iters(path) if phase in (None, x[0])]
    return found[-1] if found else None


def newest_log(pattern: str) -> Optional[str]:
    """The most recently modified file matching a glob pattern."""
    paths = glob.glob(pattern)
    return max(paths, key=osp.getmtime) if paths else None


class ChildRunProgress:
    """One tqdm bar over child runs that log like mmengine.

    Register each run with :meth:`add` (its planned training iterations and
    a glob of its log), mark it :meth:`done` when it ends; in between a
    thread polls the logs every ``interval`` seconds. The bar's total is
    the sum of planned iterations, so its rate and time left are those of
    the whole job list (evaluations and start-up are not counted in the
    total, but they slow the rate, so the estimate includes them on
    average).

    Args:
        desc (str): Bar label.
        interval (float): Seconds between polls (and at least between
            two redraws). Defaults to 10.
        file: Stream of the bar. Defaults to ``sys.stderr``.
    """

    def __init__(self, desc: str, interval: float = 10.0, file=None) -> None:
        self.interval = interval
        self._runs: Dict[str, dict] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.bar = tqdm(
            total=0,
            desc=desc,
            unit='it',
            file=file or sys.stderr,
            mininterval=interval,
            dynamic_ncols=True)

    def add(self,
            name: str,
            iters: int,
            log_pattern: str,
            phase: str = 'train') -> None:
        """Plan a run of ``iters`` iterations of ``phase`` logging to
        ``log_pattern`` (a glob; the newest match is read)."""
        with self._lock:
            self._runs[name] = dict(
                iters=iters,
                pattern=log_pattern,
                phase=phase,
                counted=0,
                state=None)
            self.bar.total += iters
            self.bar.refresh()

    def done(self, name: str) -> None:
        """Count a finished run as all its iterations."""
        with self._lock:
            run = self._runs[name]
            self._advance(run, run['iters'])
            run['state'] = 'done'
            self._show()

    def poll(self) -> None:
        """Read every unfinished run's log once and update the bar."""
        with self._lock:
            for run in self._runs.values():
                if run['state'] == 'done':
                    continue
                path = newest_log(run['pattern'])
                found = logged_iters(path) if path else []
                if not found:
                    continue
                phase, it, total = found[-1]
                run['state'] = f'{phase} {it}/{total}'
                counted = [x for x in found if x[0] == run['phase']]
                if counted:
                    self._advance(run, counted[-1][1])
            self._show()

    def _advance(self, run: dict, iters: int) -> None:
        step = min(iters, run['iters']) - run['counted']
        if step > 0:
            run['counted'] += step
            self.bar.update(step)

    def _show(self) -> None:
        running = [
            f'{name} {run["state"]}' for name, run in self._runs.items()
            if run['state'] not in (None, 'done')
        ]
        finished = sum(run['state'] == 'done' for run in self._runs.values())
        self.bar.set_postfix_str(
            f'{finished}/{len(self._runs)} runs done; ' + '; '.join(running),
            refresh=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def __enter__(self) -> 'ChildRunProgress':
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()
        self.bar.close()
