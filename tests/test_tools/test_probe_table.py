# Copyright (c) HilDA authors. All rights reserved.
"""tools/benchmarks/probe_table.py --quick on the tiny demo world: the
whole pipeline (cache, 5 pre-trainings, linear probes and fine-tunings on
three label shares, table, plot); checks the table's shape, not its
numbers."""
import json
import os
import os.path as osp
import subprocess
import sys

from tests.conftest import REPO_ROOT, load_tool
from tests.helpers.tiny_demo_world import tiny_demo_root

METHOD_ROWS = ('HilDA (full)', 'no diffusion', 'no global token',
               'last level only (ScaLR-style)',
               'superpixel InfoNCE (SLidR-style)', 'random init')


def test_quick_probe_table_has_every_method_share_and_protocol(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    work_dir = tmp_path / 'probe'
    result = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'benchmarks', 'probe_table.py'),
        '--quick', '--work-dir',
        str(work_dir), '--data-root',
        tiny_demo_root(), '--jobs', '2'
    ],
                            cwd=str(tmp_path),
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (work_dir / 'probe_table.md').read_text()
    for protocol in ('**linear probe**', '**fine-tune**'):
        section = table.split(protocol)[1].split('**')[0]
        rows = [r for r in section.splitlines() if r.startswith('| ')]
        assert rows[0] == ('| method | 1% labels | 10% labels | '
                           '100% labels |')
        assert tuple(r.split('|')[1].strip()
                     for r in rows[1:]) == METHOD_ROWS
        for row in rows[1:]:
            cells = [c.strip() for c in row.split('|')[2:-1]]
            assert len(cells) == 3
            for cell in cells:
                mean, std = cell.split(' ± ')
                assert 0.0 <= float(mean) <= 100.0 and float(std) >= 0.0
    with open(work_dir / 'results.json') as f:
        results = json.load(f)
    # 6 methods x 2 protocols x 3 shares x 1 seed, each evaluated
    assert len(results['runs']) == 36
    assert all(0.0 <= r['miou'] <= 1.0 for r in results['runs'].values())
    # every pre-trained student was exported and loaded (checked) downstream
    assert sorted(results['pretrain']) == [
        'hilda', 'lastlevel', 'nocls', 'nodiff', 'slidr'
    ]
    png = work_dir / 'probe_table.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_noprevgrad_is_opt_in_and_only_switches_prev_grad(tmp_path):
    tool = load_tool('benchmarks/probe_table.py')
    args = tool.parse_args(['--work-dir', str(tmp_path)])
    assert 'noprevgrad' not in args.methods and 'hilda' in args.methods
    full = tool.pretrain_config('hilda', args, str(tmp_path))
    cheap = tool.pretrain_config('noprevgrad', args, str(tmp_path))
    assert full.model.get('prev_grad', True) is True
    assert cheap.model.prev_grad is False
    cheap.model.pop('prev_grad')
    assert cheap.to_dict() == full.to_dict()
