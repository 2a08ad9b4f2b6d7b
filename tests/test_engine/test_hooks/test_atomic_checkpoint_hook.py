# Copyright (c) HilDA authors. All rights reserved.
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.fileio import LocalBackend
from mmengine.runner import Runner

from projects.HilDA.hilda.checkpoints import check_checkpoint_file
from projects.HilDA.hilda.engine.hooks import atomic_checkpoint_hook
from projects.HilDA.hilda.utils.work_dir_lock import _host
from tests.helpers.reliability import tiny_runner_cfg


class Killed(BaseException):
    """Stands for the process dying in the middle of a write."""


def interrupt_second_write(monkeypatch):
    """The 2nd checkpoint (bytes) write stops after half of its bytes."""
    calls = []

    def half_then_die(f, data):
        calls.append(isinstance(data, bytes))
        if sum(calls) == 2 and calls[-1]:
            f.write(data[:len(data) // 2])
            f.flush()
            raise Killed()
        f.write(data)

    monkeypatch.setattr(atomic_checkpoint_hook, '_write_all', half_then_die)
    return calls


def dead_pid():
    """The pid of a process of this host that has ended."""
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()
    return child.pid


def checkpoint_cfg(tmp_path, **hook):
    return tiny_runner_cfg(
        tmp_path / 'data',
        tmp_path / 'work',
        max_iters=4,
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(
                type='AtomicCheckpointHook',
                by_epoch=False,
                interval=2,
                **hook)))


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """With max_keep_ckpts=1 the save at iteration 4 dies half-way: iter_2
    is still there and loads (weights_only), last_checkpoint still names
    it, nothing partial sits under iter_4.pth, and resuming works."""
    work = tmp_path / 'work'
    interrupt_second_write(monkeypatch)
    runner = Runner.from_cfg(checkpoint_cfg(tmp_path, max_keep_ckpts=1))
    with pytest.raises(Killed):
        runner.train()
    # A hard kill would leave the temporary file; exceptions clean it up
    # (the work-dir lock of the run that died stays).
    assert sorted(os.listdir(work)) == sorted([
        'iter_2.pth', 'iter_2.pth.sha256', 'last_checkpoint',
        '.hilda-run.lock', *[d for d in os.listdir(work) if d[0].isdigit()]
    ])
    assert open(work / 'last_checkpoint').read() == str(work / 'iter_2.pth')
    ckpt = torch.load(work / 'iter_2.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 2

    monkeypatch.undo()
    left = work / f'.iter_4.pth.pid{dead_pid()}@{_host()}.abc.tmp'
    left.write_bytes(b'partial')  # left by a hard-killed writer
    cfg = checkpoint_cfg(tmp_path, max_keep_ckpts=1)
    cfg.update(resume=True)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4
    assert not left.exists()
    assert sorted(p for p in os.listdir(work)
                  if p.endswith('.pth')) == ['iter_4.pth']
    # Each checkpoint has its SHA-256 sidecar; iter_2's went with it.
    assert sorted(p for p in os.listdir(work)
                  if p.endswith('.sha256')) == ['iter_4.pth.sha256']
    check_checkpoint_file(str(work / 'iter_4.pth'), require_sidecar=True)


def test_plain_mmengine_write_would_leave_a_partial_file(
        tmp_path, monkeypatch):
    """Why: the same interruption through mmengine's LocalBackend leaves a
    truncated file under the final name."""
    target = tmp_path / 'iter_4.pth'

    def half_then_die(self, obj, filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise Killed()

    monkeypatch.setattr(LocalBackend, 'put', half_then_die)
    with pytest.raises(Killed):
        LocalBackend().put(b'x' * 100, target)
    assert osp.getsize(target) == 50
    # ... and the atomic backend under the same interruption does not.
    interrupt_second_write(monkeypatch)
    backend = atomic_checkpoint_hook.AtomicLocalBackend()
    backend.put(b'y' * 100, tmp_path / 'iter_2.pth')
    with pytest.raises(Killed):
        backend.put(b'z' * 100, tmp_path / 'iter_2.pth')
    assert (tmp_path / 'iter_2.pth').read_bytes() == b'y' * 100
    assert sorted(os.listdir(tmp_path)) == ['iter_2.pth', 'iter_4.pth']


def test_start_up_clean_up_keeps_files_of_live_or_unknown_writers(tmp_path):
    """Only the temporary file of a writer that has ended is removed; one
    being written by a running process (here: a live child), one from
    another host and an untagged one stay."""
    work = tmp_path / 'work'
    work.mkdir()
    live = subprocess.Popen(
        [sys.executable, '-c', 'import time; '
         'time.sleep(60)'])
    try:
        names = dict(
            dead=f'.iter_2.pth.pid{dead_pid()}@{_host()}.a.tmp',
            live=f'.iter_2.pth.pid{live.pid}@{_host()}.b.tmp',
            other_host=f'.iter_2.pth.pid{dead_pid()}@elsewhere.c.tmp',
            untagged='.iter_2.pth.d.tmp',
            last=f'.last_checkpoint.pid{dead_pid()}@{_host()}.e.tmp')
        for name in names.values():
            (work / name).write_bytes(b'partial')
        cfg = checkpoint_cfg(tmp_path)
        cfg['train_cfg']['max_iters'] = 1
        Runner.from_cfg(cfg).train()
        left = set(os.listdir(work))
        assert names['dead'] not in left and names['last'] not in left
        assert {names['live'], names['other_host'], names['untagged']} <= left
    finally:
        live.kill()
        live.wait()


def test_resume_with_other_lr_or_batch_size_warns_naming_both(monkeypatch):
    from types import SimpleNamespace

    from mmengine.config import Config

    def runner(lr, batch_size, resume):
        return SimpleNamespace(
            _resume=resume,
            cfg=Config(
                dict(
                    optim_wrapper=dict(optimizer=dict(lr=lr)),
                    train_dataloader=dict(batch_size=batch_size))))

    logged = []
    monkeypatch.setattr(atomic_checkpoint_hook, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    hook = atomic_checkpoint_hook.AtomicCheckpointHook(interval=1)
    checkpoint = dict(meta={})
    hook.before_save_checkpoint(runner(1e-3, 2, False), checkpoint)
    hook.after_load_checkpoint(runner(1e-3, 2, True), checkpoint)
    assert logged == []  # same settings: nothing to say
    hook.after_load_checkpoint(runner(2e-3, 4, True), checkpoint)
    assert len(logged) == 1
    assert 'lr 0.001 -> 0.002' in logged[0]
    assert 'batch_size_per_gpu 2 -> 4' in logged[0]
    assert 'new lr has no effect' in logged[0]
    hook.after_load_checkpoint(runner(2e-3, 4, False), checkpoint)
    assert len(logged) == 1  # load_from (no resume): settings may change
