# Copyright (c) HilDA authors. All rights reserved.
"""What each part of HilDA buys on the demo world (the library of
``tools/benchmarks/probe_table.py``): :mod:`.plan` (rows, arguments, runs,
configs), :mod:`.run` (teacher cache, label splits, the runs through the
shared job runner :mod:`..jobs`), :mod:`.report` (statistics, tables,
plot). :mod:`.plan`'s docstring describes the table."""
import os
import os.path as osp
import time

# Not `from .plan import plan`: that would hide the submodule `plan`.
from . import plan as planning
from .report import write_report
from .run import ProbeTableError, ensure_cache, label_splits, run_all

__all__ = ['main']


def main(argv=None) -> None:
    args = planning.parse_args(argv)
    runs = planning.plan(args)
    totals = planning.plan_summary(runs)
    print(
        '[probe_table] plan: ' +
        '; '.join(f'{kind} {t["runs"]} runs, {t["iters"]} iterations'
                  for kind, t in totals.items()),
        flush=True)
    if args.dry_run:
        return
    for split in ('train', 'val'):
        info = osp.join(args.data_root, f'nuscenes_infos_{split}.pkl')
        if not osp.isfile(info):
            raise ProbeTableError(
                f'{info} does not exist (python tools/create_demo_data.py '
                f'--out-dir {args.data_root})')
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.time()
    cache_dir = ensure_cache(args)
    splits = label_splits(args)
    results = run_all(runs, args, cache_dir, splits)
    text, costs = write_report(runs, results, totals, args, start)
    print(text)
    print('[probe_table] measured: ' +
          '; '.join(f'{kind} {c["runs"]} runs, {c["per_iter"]:.2f} s/iteration'
                    for kind, c in costs.items() if c['per_iter']) +
          f'; total {time.time() - start:.0f} s; {args.work_dir}/'
          'probe_table.md, probe_table.png, results.json')
