# Copyright (c) HilDA authors. All rights reserved.
"""tools/benchmarks/probe_table.py --quick on the tiny demo world, end to
end (teacher cache, pre-training from the ablation configs with curve
checkpoints, linear probes, fine-tunings, scene-flow probes, table, plot);
checks the table's shape, not its numbers. Kept cheap: three of the rows
(the other rows run the same code, their configs are tested in
tests/test_configs/test_demo_ablation_configs.py), two label shares, two
iterations per run."""
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys

from projects.HilDA.analysis.probe_table.plan import VARIANTS
from tests.conftest import REPO_ROOT
from tests.helpers.tiny_demo_world import tiny_demo_root

ROWS = ('random', 'hilda-nodiff', 'hilda')


def test_quick_probe_table_has_its_rows_columns_and_files(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    work_dir = tmp_path / 'probe'
    result = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'benchmarks',
                 'probe_table.py'), '--quick', '--work-dir',
        str(work_dir), '--data-root',
        tiny_demo_root(), '--jobs', '2', '--variants', *ROWS, '--shares', '1',
        '100'
    ],
                            cwd=str(tmp_path),
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (work_dir / 'probe_table.md').read_text()
    section = table.split("**The paper's component rows**")[1].split('*')[0]
    rows = [r for r in section.splitlines() if r.startswith('| ')]
    assert [c.strip() for c in rows[0].split('|')[2:-1]] == [
        'linear probe 1 %', 'linear probe 100 %', 'fine-tune 1 %',
        'fine-tune 100 %', 'flow EPE moving (cm)', 'flow EPE all (cm)'
    ]
    assert [r.split('|')[1].strip()
            for r in rows[1:]] == [VARIANTS[r].label for r in ROWS]
    for row in rows[1:]:
        for cell in row.split('|')[2:-1]:
            mean, rest = cell.strip().split(' ± ')
            assert rest.endswith('(n=1)') and math.isfinite(float(mean))
    with open(work_dir / 'results.json') as f:
        results = json.load(f)
    assert set(results) == {
        'args', 'plan', 'runs', 'summary', 'per_class', 'curve', 'costs',
        'total_s'
    }
    # 2 pre-trainings; 3 students x (2 protocols x 2 shares + flow); the
    # two curve runs probe their iteration-1 checkpoint
    assert results['plan'] == {
        'pretrain': dict(runs=2, iters=4),
        'downstream': dict(runs=14, iters=28),
        'flow': dict(runs=3, iters=9)  # progress unit: scans (2 + 1 each)
    }
    runs = results['runs']
    assert len(runs) == 2 + 14 + 3
    assert sorted(results['curve']) == ['hilda', 'hilda-nodiff']
    assert sorted(results['curve']['hilda']) == ['1', '2']
    for name, run in runs.items():
        if '_flow_' in name:
            assert run['metrics']['num_points'] > 0
            assert run['metrics']['epe'] >= 0
        elif not name.endswith('_p0'):
            assert 0.0 <= run['metrics']['miou'] <= 1.0
    png = work_dir / 'probe_table.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # one progress bar over every planned iteration, complete at the end
    assert re.search(r'probe_table.*\b41/41\b', result.stderr)
