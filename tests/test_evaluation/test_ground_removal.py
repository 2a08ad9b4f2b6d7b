# Copyright (c) HilDA authors. All rights reserved.
from projects.HilDA.hilda.datasets.transforms import PlaneFitGroundSegmenter
from projects.HilDA.hilda.evaluation.ground_removal import ground_removal_stats
from tests.conftest import load_tool
from tests.helpers.tiny_demo_world import tiny_demo_root


def test_stats_score_the_segmenter_against_lidarseg_labels():
    stats = ground_removal_stats(
        tiny_demo_root(),
        'nuscenes_infos_val.pkl',
        PlaneFitGroundSegmenter(),
        label_prefix='lidarseg/v1.0-demo',
        repeats=1)
    assert stats['scans'] == 3 and stats['points'] > 10000
    # The demo ground is one plane: the plane fit finds all of it.
    assert stats['ground_removed'] > 0.99 and stats['other_removed'] < 0.1
    assert 0.3 < stats['removed'] < 0.9 and stats['median_ms'] > 0


def test_tool_prints_the_stats(capsys):
    load_tool('analysis_tools/ground_removal.py').main([
        tiny_demo_root(), 'nuscenes_infos_val.pkl', '--labels',
        'lidarseg/v1.0-demo', '--max-samples', '1', '--repeats', '1'
    ])
    out = capsys.readouterr().out
    assert 'scans=1' in out and 'ground_removed=' in out
