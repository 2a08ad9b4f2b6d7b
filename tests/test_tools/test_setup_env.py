# Copyright (c) HilDA authors. All rights reserved.
"""The progress heartbeat of ``tools/setup_env.sh``, on a fake step.

Sourcing the script defines its functions and returns before it touches any
environment, so nothing here installs or rebuilds anything.
"""
import os.path as osp
import re
import subprocess
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'setup_env.sh')


def run_heartbeat(step, interval=1):
    """Run ``heartbeat`` around the shell command ``step``; (rc, out, s)."""
    script = (f'source {SCRIPT}; HILDA_HEARTBEAT_S={interval} '
              f'heartbeat "fake step" "3 s" bash -c "{step}"')
    t0 = time.monotonic()
    # Through a pipe, as `make env | tee log` reads it: the call returns
    # only when every writer (the beat loop included) has closed it.
    proc = subprocess.run(['bash', '-c', script],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=60)
    return proc.returncode, proc.stdout, time.monotonic() - t0


def test_heartbeat_prints_elapsed_time_while_the_step_runs():
    rc, out, _ = run_heartbeat('sleep 3.5; echo step output')
    assert rc == 0, out
    lines = out.splitlines()
    assert re.search(r'fake step \(usually 3 s\)$', lines[0])
    beats = [
        int(m.group(1))
        for m in re.finditer(r'\.\.\. fake step: (\d+) s so far', out)
    ]
    assert len(beats) >= 2, out
    assert beats == sorted(beats) and beats[-1] >= 2, out
    assert 'step output' in out
    assert re.search(r'fake step: done in \d+ s$', lines[-1]), out


def test_heartbeat_returns_the_step_status_and_stops_beating():
    rc, out, seconds = run_heartbeat('sleep 1.5; exit 3', interval=1)
    # set -e of the script ends the shell with the step's status
    assert rc == 3, out
    # the beat loop died with the step: no line after the step ended and
    # the pipe closed at once (a leftover loop would hold it open)
    assert 'done in' in out.splitlines()[-1]
    assert seconds < 10, out


def test_sourcing_the_script_installs_nothing(tmp_path):
    venv = tmp_path / 'venv'
    proc = subprocess.run(
        ['bash', '-c', f'HILDA_VENV={venv} source {SCRIPT}; type heartbeat'],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert 'heartbeat is a function' in proc.stdout
    assert not venv.exists()
