# Copyright (c) HilDA authors. All rights reserved.
"""The shared job runner: order (``after``), resume from ``result.json``,
progress from the children's logs, a failed job named in one error."""
import json
import sys

import pytest

from projects.HilDA.analysis.jobs import Job, JobError, run_command, run_jobs


def command_job(tmp_path, name, code, after=None, resumable=True):
    """A job running ``python -c code`` that logs like mmengine."""
    work_dir = tmp_path / name
    work_dir.mkdir(exist_ok=True)
    log = str(work_dir / 'out.log')
    return Job(
        name=name,
        target=run_command,
        spec=dict(cmd=[sys.executable, '-c', code], log=log),
        iters=2,
        log=log,
        after=after,
        work_dir=str(work_dir) if resumable else None,
        budget=dict(iters=2))


def test_jobs_run_after_their_dependency_and_resume(tmp_path, capsys):
    stamp = tmp_path / 'order.txt'
    code = ("import sys; open(sys.argv[1], 'a').write(sys.argv[2] + ' '); "
            "print('Iter(train) [2/2]')")
    jobs = [
        command_job(tmp_path, name, code, after)
        for name, after in (('b', 'a'), ('a', None))
    ]
    for job in jobs:
        job.spec['cmd'] += [str(stamp), job.name]
    results = run_jobs(jobs, 'demo', workers=2, interval=0.1)
    assert stamp.read_text() == 'a b '  # b waited for a
    assert set(results) == {'a', 'b'} and results['a']['seconds'] > 0
    assert json.loads((tmp_path / 'b' /
                       'result.json').read_text())['budget'] == dict(iters=2)
    assert '4/4' in capsys.readouterr().err  # every planned iteration
    # A second run reuses both results: nothing runs again.
    assert run_jobs(jobs, 'demo', interval=0.1) == results
    assert stamp.read_text() == 'a b '


def test_a_failed_job_is_named_with_its_log(tmp_path):
    job = command_job(tmp_path, 'broken', 'raise SystemExit(3)')
    with pytest.raises(
            JobError,
            match=r'broken failed: .*exited with 3; '
            r'log .*broken/out\.log'):
        run_jobs([job], 'demo', interval=0.1)


def test_a_job_waiting_for_an_unknown_job_is_an_error(tmp_path):
    job = command_job(tmp_path, 'b', 'pass', after='a')
    with pytest.raises(JobError, match='b waits for a'):
        run_jobs([job], 'demo')
