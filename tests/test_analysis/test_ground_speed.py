# Copyright (c) HilDA authors. All rights reserved.
from projects.HilDA.analysis.ground_speed import (cpu_times, format_table,
                                                  load_scans)
from tests.helpers.tiny_demo_world import tiny_demo_root


def test_every_segmenter_runs_on_every_scan_every_round():
    scans = load_scans(tiny_demo_root(), 'nuscenes_infos_val.pkl')
    assert len(scans) == 3 and scans[0].shape[1] == 4
    calls = {'a': [], 'b': []}

    def segmenter(name):
        return lambda points: calls[name].append(len(points))

    times = cpu_times(
        dict(demo=scans, again=scans[:1]),
        dict(a=segmenter('a'), b=segmenter('b')),
        rounds=2)
    # One untimed call, then 2 rounds of 3 + 1 scans.
    assert len(calls['a']) == len(calls['b']) == 1 + 2 * 4
    assert {
        k: len(v)
        for k, v in times.items()
    } == {
        ('a', 'demo'): 6,
        ('a', 'again'): 2,
        ('b', 'demo'): 6,
        ('b', 'again'): 2
    }


def test_table_gives_medians_and_ratios_to_the_reference():
    times = {
        ('slow', 'demo'): [0.004, 0.006, 0.1],
        ('fast', 'demo'): [0.001, 0.0015, 0.002],
    }
    rows = format_table(times, 'slow')
    assert rows[2] == '| slow | 6.00 | 1.00 |'
    assert rows[3] == '| fast | 1.50 | 0.25 |'
    assert len(rows) == 4
