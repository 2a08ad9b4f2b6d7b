# Copyright (c) HilDA authors. All rights reserved.
import subprocess
import sys

import torch

from projects.HilDA.analysis import pretrain_speed as tool
from tests.conftest import REPO_ROOT
from tests.helpers.tiny_hilda import tiny_config_file


def test_benchmark_reports_every_part_and_the_ratio(tmp_path):
    """Runs the benchmark on the tiny model, compared with itself; checks
    the report's shape, not its numbers (timings are not tests)."""
    path = tiny_config_file(tmp_path, batch_size=2)
    out = subprocess.run([
        sys.executable, f'{REPO_ROOT}/tools/benchmarks/pretrain_speed.py',
        path, '--iters', '3', '--compare', path
    ],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    report = out.stdout
    for part in ('teacher', 'student', 'distillation', 'global_token',
                 'diffusion', 'backward + update', 'plain student step',
                 'HilDA step, cached teacher', 'ratio HilDA / plain student',
                 'ratio with the teacher cache', 'plain step on t0+t-1',
                 'cached, t-1 without gradient', 'ratio cached, no t-1 grad',
                 'memory: peak resident set size', tool.COMPARE_CACHED,
                 tool.COMPARE_PLAIN, 'its cached-step ratio'):
        assert part in report, part
    ratio = float(report.split('ratio HilDA / plain student')[1].split()[0])
    # HilDA does strictly more than the plain step (a median of 3 rounds,
    # so one slow spell of a busy machine cannot flip it).
    assert ratio > 1.0, report

    def peak(row):
        return float(report.split(row)[1].split('peak')[1].split()[0])

    # Every variant reports its own peak: the full step holds more than the
    # plain one (heads, t-1 activations), and less without t-1 gradients.
    cached = peak('HilDA step, cached teacher')
    assert cached > peak('plain student step'), report
    assert cached > peak('cached, t-1 without gradient'), report


def test_nested_measures_each_keep_the_peak_of_their_span(monkeypatch):
    """GPU peak memory (simulated): a part resets the peak counter, yet the
    step around it still reports the step's own peak."""
    memory = dict(now=0.0, peak=0.0)

    def allocate(mb):
        memory['now'] = mb
        memory['peak'] = max(memory['peak'], mb)

    monkeypatch.setattr(tool, 'synchronize', lambda device: None)
    monkeypatch.setattr(tool, 'peak_memory_mb', lambda device: memory['peak'])
    monkeypatch.setattr(tool.torch.cuda, 'reset_peak_memory_stats',
                        lambda device: memory.update(peak=memory['now']))
    timer = tool.PartTimer(torch.device('cuda'))
    with timer.measure('step'):
        allocate(500)  # the step's peak, before the part
        allocate(100)
        with timer.measure('part'):
            allocate(300)
        allocate(200)
    assert timer.memory['part'] == 300
    assert timer.memory['step'] == 500


def test_ratios_are_medians_of_same_round_ratios():
    """A slow spell that hits one round's variants alike leaves the ratio
    alone; a one-off outlier does not move the median."""
    rounds = [{
        tool.PLAIN: 1.0,
        tool.HILDA: 2.0
    }, {
        tool.PLAIN: 3.0,
        tool.HILDA: 6.0
    }, {
        tool.PLAIN: 1.0,
        tool.HILDA: 9.0
    }]
    assert tool.ratio(rounds, tool.HILDA) == 2.0
    assert tool.median_seconds(rounds, tool.HILDA) == 6.0
    assert tool.median_seconds(rounds, tool.PLAIN) == 1.0


def test_compared_config_is_measured_against_the_matching_step(capsys):
    """The other config's cached step against this config's cached step,
    its plain step against this plain step, per round."""
    rounds = [{
        tool.PLAIN: 1.0,
        tool.CACHED: 2.0,
        tool.COMPARE_PLAIN: 3.0,
        tool.COMPARE_CACHED: 8.0
    }, {
        tool.PLAIN: 2.0,
        tool.CACHED: 4.0,
        tool.COMPARE_PLAIN: 6.0,
        tool.COMPARE_CACHED: 16.0
    }]
    tool.report_compared(rounds, 'a.py', 'b.py')
    lines = capsys.readouterr().out.splitlines()
    cached = next(x for x in lines
                  if x.strip().startswith(tool.COMPARE_CACHED))
    plain = next(x for x in lines if x.strip().startswith(tool.COMPARE_PLAIN))
    assert cached.split()[-3:] == ['4.00', 'x', "a.py's"]
    assert plain.split()[-3:] == ['3.00', 'x', "a.py's"]
    own = next(x for x in lines if 'its cached-step ratio' in x)
    assert own.split()[3] == '2.67'
    assert 'a.py: 2.00' in own
