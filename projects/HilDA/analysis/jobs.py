# Copyright (c) HilDA authors. All rights reserved.
"""One runner for the child runs of the tools that pre-train and fine-tune
many times (``tools/benchmarks/probe_table.py``, ``tools/finetune_demo.py``).

A :class:`Job` is a module-level function and its (picklable) argument,
run in a worker process; a job may wait for another one (``after``). The
runner keeps at most ``workers`` jobs running, starts a job's followers as
soon as it is done, shows one progress bar over every job read from the
children's logs (:class:`~.progress.ChildRunProgress`), and reuses a job's
``result.json`` from an earlier run with the same budget (resume). A
failed job stops the run with a :class:`JobError` naming it and its logs.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Callable, Dict, List, Optional

from projects.HilDA.hilda.errors import HilDAError
from .progress import ChildRunProgress

LOG_TAIL_CHARS = 3000


class JobError(HilDAError, RuntimeError):
    """A job failed, or its earlier result does not fit this run (the
    message names the job and its logs or result file)."""


@dataclass
class Job:
    """One child run.

    Args:
        name (str): Unique name (progress bar, results, ``after``).
        target (callable): Module-level function run in a worker process
            with ``spec``; returns a JSON-serialisable dict.
        spec (dict): The argument of ``target``.
        iters (int): Planned iterations (the progress bar's unit).
        log (str): Path or glob of the log the job writes; its newest
            match is followed for progress.
        phase (str): The ``Iter(<phase>)`` entries of the log that count.
            Defaults to ``'train'``.
        after (str, optional): Name of the job that must be done first.
        work_dir (str, optional): Where the job's ``result.json`` is
            written; with it the job is resumable.
        budget (dict): What the result depends on besides the name (an
            earlier result of another budget is an error, not reused).
    """
    name: str
    target: Callable[[dict], dict]
    spec: dict
    iters: int
    log: str
    phase: str = 'train'
    after: Optional[str] = None
    work_dir: Optional[str] = None
    budget: dict = field(default_factory=dict)


def earlier_result(job: Job) -> Optional[dict]:
    """The result of an earlier run of ``job``, if it completed with the
    same budget; a result of another budget is an error (the job's name
    does not say the budget, so reusing it would mix budgets silently)."""
    if job.work_dir is None:
        return None
    path = osp.join(job.work_dir, 'result.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        result = json.load(f)
    # Results written before budgets were recorded carry none.
    earlier = result.get('budget', job.budget)
    if earlier != job.budget:
        raise JobError(
            f'{path}: ran with {earlier}, this run asks for {job.budget}; '
            'use another --work-dir (pre-trainings can be shared by a '
            'symlinked pretrain/ folder) or delete that run')
    return result


def execute(job: Job) -> dict:
    """Run ``job`` in this process; its result gets ``name``, ``seconds``
    and ``budget`` and is written to ``<work_dir>/result.json``."""
    start = time.time()
    result = job.target(job.spec)
    result.update(
        name=job.name, seconds=time.time() - start, budget=job.budget)
    if job.work_dir is not None:
        with open(osp.join(job.work_dir, 'result.json'), 'w') as f:
            json.dump(result, f, indent=1)
    return result


def run_command(spec: dict) -> dict:
    """A job target that runs a command line (``spec['cmd']``, in
    ``spec.get('cwd')``), its output into ``spec['log']``."""
    with open(spec['log'], 'w') as log:
        done = subprocess.run(
            spec['cmd'],
            cwd=spec.get('cwd'),
            stdout=log,
            stderr=subprocess.STDOUT)
    if done.returncode != 0:
        with open(spec['log']) as f:
            tail = f.read()[-LOG_TAIL_CHARS:]
        raise JobError(f'{" ".join(spec["cmd"][1:3])} exited with '
                       f'{done.returncode}; log {spec["log"]}:\n{tail}')
    return {}


def _quiet_worker() -> None:
    """Workers keep their logs in the jobs' logs only, and end with the
    main process (killed or interrupted)."""
    import warnings
    warnings.filterwarnings('ignore')
    sys.stdout = open(os.devnull, 'w')
    if sys.platform.startswith('linux'):
        import ctypes
        import signal
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL('libc.so.6').prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_jobs(jobs: List[Job],
             desc: str,
             workers: int = 1,
             interval: float = 10.0) -> Dict[str, dict]:
    """Run ``jobs``, at most ``workers`` side by side, each after the job
    it names in ``after``; returns ``{name: result}``.

    Args:
        jobs (list[Job]): The plan, in the order jobs should start.
        desc (str): Label of the progress bar.
        workers (int): Jobs side by side. Defaults to 1.
        interval (float): Seconds between progress updates.
            Defaults to 10.
    """
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise JobError(f'{desc}: job names repeat: {sorted(names)}')
    followers: Dict[Optional[str], List[Job]] = {}
    for job in jobs:
        if job.after is not None and job.after not in names:
            raise JobError(f'{job.name} waits for {job.after}, which is not '
                           'a job of this run')
        followers.setdefault(job.after, []).append(job)
    results: Dict[str, dict] = {}
    with ProcessPoolExecutor(
            workers, mp_context=get_context('spawn'),
            initializer=_quiet_worker) as pool, ChildRunProgress(
                desc, interval=interval) as progress:
        pending = {}
        # The whole plan up front, so that the time left is the plan's.
        for job in jobs:
            progress.add(job.name, job.iters, job.log, job.phase)
            fixed_log = not glob.has_magic(job.log) and osp.exists(job.log)
            if fixed_log and not osp.isfile(
                    osp.join(job.work_dir or '', 'result.json')):
                os.remove(job.log)  # an earlier run's, not this one's

        def done(job: Job, result: dict) -> None:
            results[job.name] = result
            progress.done(job.name)
            for follower in followers.get(job.name, []):
                submit(follower)

        def submit(job: Job) -> None:
            earlier = earlier_result(job)
            if earlier is not None:
                done(job, earlier)
                return
            pending[pool.submit(execute, job)] = job

        for job in followers.get(None, []):
            submit(job)
        while pending:
            complete, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in complete:
                job = pending.pop(future)
                try:
                    result = future.result()
                except Exception as e:
                    for queued in pending:
                        queued.cancel()  # not started yet: never starts
                    where = job.work_dir or job.log
                    raise JobError(f'{job.name} failed: {type(e).__name__}: '
                                   f'{e} (logs: {where})') from e
                done(job, result)
    return results
