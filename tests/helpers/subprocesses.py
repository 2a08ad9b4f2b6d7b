# Copyright (c) HilDA authors. All rights reserved.
"""The repository's tools run in a child process, as a user runs them.

The child gets the caller's environment without ``PYTHONPATH`` (a user's
shell does not point into the repository), captures its text output and
is stopped after ``timeout`` seconds.
"""
import os
import socket
import subprocess
import sys


def user_env(**extra):
    """The environment without ``PYTHONPATH``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(extra)
    return env


def free_port():
    """A TCP port nobody listens on now (for torchrun's rendezvous)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def cpu_dist_env():
    """What ``tools/dist_train.sh`` needs for gloo ranks on CPU: this
    Python, a free port, no GPU and one thread per rank."""
    return user_env(
        PYTHON=sys.executable,
        PORT=str(free_port()),
        CUDA_VISIBLE_DEVICES='',
        OMP_NUM_THREADS='1')


def run_command(cmd, cwd, env=None, timeout=300):
    """``cmd`` in ``cwd``; ``env`` None is :func:`user_env`."""
    return subprocess.run([str(part) for part in cmd],
                          cwd=str(cwd),
                          env=user_env() if env is None else env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)


def run_ok(cmd, cwd, env=None, timeout=300):
    """:func:`run_command`, asserting exit status 0 (the end of stderr is
    the failure message)."""
    result = run_command(cmd, cwd, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result
