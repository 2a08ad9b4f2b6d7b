# Copyright (c) HilDA authors. All rights reserved.
"""The terminal progress of child runs, read from their mmengine logs."""
import io

from projects.HilDA.analysis.progress import ChildRunProgress, last_logged_iter

TRAIN_LINE = ('12/01 10:00:00 - mmengine - INFO - Iter(train) [ {i}/{n}]  '
              'lr: 1.0e-03  eta: 0:01:00  time: 0.9  loss: 1.0\n')


def test_last_logged_iter_reads_the_last_iteration_line(tmp_path):
    log = tmp_path / 'run.log'
    assert last_logged_iter(str(log)) is None  # not written yet
    log.write_text('starting\n' + TRAIN_LINE.format(i=10, n=200) +
                   TRAIN_LINE.format(i=20, n=200))
    assert last_logged_iter(str(log)) == ('train', 20, 200)
    with open(log, 'a') as f:
        f.write(
            '12/01 - mmengine - INFO - Iter(val) [ 5/20]    eta: 0:00:09\n')
    assert last_logged_iter(str(log)) == ('val', 5, 20)


def test_progress_counts_logged_and_finished_runs(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'x.log').write_text(TRAIN_LINE.format(i=30, n=100))
    out = io.StringIO()
    progress = ChildRunProgress('test', interval=60, file=out)
    progress.add('a', 100, str(tmp_path / 'a' / '*.log'))
    progress.add('b', 50, str(tmp_path / 'b' / '*.log'))  # not started
    progress.poll()
    assert (progress.bar.n, progress.bar.total) == (30, 150)
    assert 'a train 30/100' in progress.bar.postfix
    progress.done('a')
    progress.poll()  # a finished run is not read again
    assert progress.bar.n == 100
    progress.done('b')
    assert progress.bar.n == 150
    assert '2/2 runs done' in progress.bar.postfix
    progress.bar.close()


def test_progress_counts_only_the_runs_own_phase(tmp_path):
    log = tmp_path / 'flow.log'
    log.write_text('Iter(scans) [3/10]\nIter(head) [50/300]\n')
    progress = ChildRunProgress('test', interval=60, file=io.StringIO())
    progress.add('flow', 10, str(log), phase='scans')
    progress.poll()
    # the head's steps are shown, the scans counted
    assert progress.bar.n == 3
    assert 'flow head 50/300' in progress.bar.postfix
    progress.bar.close()
