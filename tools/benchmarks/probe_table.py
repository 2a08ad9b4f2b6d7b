# Copyright (c) HilDA authors. All rights reserved.
"""What each part of HilDA buys on the demo world: pre-train the ablation
configs (configs/hilda/ablations/demo/), probe each student downstream
(linear probe and fine-tuning at 1/10/100 % labels, scene-flow probe),
with seeds and paired differences to full HilDA.

Example:
    python tools/create_demo_data.py --out-dir data/hilda_demo
    python tools/benchmarks/probe_table.py --work-dir work_dirs/probe_table
    # -> probe_table.md, probe_table.png, results.json in the work dir
    python tools/benchmarks/probe_table.py --work-dir /tmp/probe --quick
    python tools/benchmarks/probe_table.py --work-dir /tmp/x --dry-run \
        --variants random hilda-lastlevel hilda-nodiff hilda

Rows are named after their config files (``hilda`` is full HilDA,
``hilda-nodiff`` is configs/hilda/ablations/demo/hilda-nodiff_*.py,
``random`` the random initialisation). The library (what runs, how the
table is made) is projects/HilDA/analysis/probe_table/ (plan.py, run.py,
report.py); --help says more. A re-run with the same work dir reuses the
finished runs.
"""
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.HilDA.analysis.probe_table import main  # noqa: E402
from projects.HilDA.hilda.apis import run_tool  # noqa: E402

if __name__ == '__main__':
    run_tool(main, 'probe_table.py')
