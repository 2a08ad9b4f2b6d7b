# Copyright (c) HilDA authors. All rights reserved.
"""The probe table's report: per question, row and column the mean and
spread over seed pairs and the paired difference to full HilDA, per-class
IoU, the pre-training-length curve, Markdown tables, a plot and the
measured costs of each kind of run."""
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

from .plan import (CURVE, FLOW_METRICS, OBJECT_CLASSES, PROTOCOLS, QUESTIONS,
                   REFERENCE, VARIANTS, curve_iters, downstream_name,
                   downstream_seeds, flow_name, pretrain_seeds, student_name)


def columns(args) -> List[tuple]:
    """Table columns: (protocol, share) pairs, then the flow metrics."""
    cols = [(p, float(s)) for p in args.protocols for s in args.shares]
    if not args.no_flow:
        cols += [('flow', m) for m in FLOW_METRICS]
    return cols


def column_label(col: tuple) -> str:
    kind, what = col
    if kind == 'flow':
        return FLOW_METRICS[what]
    return f'{PROTOCOLS[kind]} {what:g} %'


def pair_values(results: Dict[str, dict], variant: str, col: tuple,
                args) -> Dict[tuple, float]:
    """{(pseed, dseed): value} of one row and column (mIoU in %, EPE in
    cm); pairs whose run is missing are left out."""
    values = {}
    for pseed in pretrain_seeds(variant, args):
        student = student_name(variant, pseed)
        for dseed in downstream_seeds(pseed, args):
            kind, what = col
            if kind == 'flow':
                run = results.get(flow_name(student, dseed))
                value = None if run is None else 100 * run['metrics'][what]
            else:
                run = results.get(downstream_name(student, kind, what, dseed))
                value = None if run is None else \
                    100 * run['metrics']['miou']
            if value is not None:
                values[(pseed, dseed)] = value
    return values


def mean_std(values) -> tuple:
    """(mean, sample standard deviation (0 for one value), n)."""
    values = np.asarray(list(values), dtype=float)
    if not len(values):
        return (float('nan'), float('nan'), 0)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return (float(values.mean()), std, len(values))


def summarise(results: Dict[str, dict], args) -> dict:
    """Per question, row and column: ``stats`` (mean, std, n) and
    ``paired`` (the same of the pairwise differences to full HilDA)."""
    out = {}
    for question, (_, rows) in QUESTIONS.items():
        rows = [r for r in rows if r in args.variants]
        out[question] = {}
        if len(rows) < 2:
            continue
        for row in rows:
            out[question][row] = {}
            for col in columns(args):
                values = pair_values(results, row, col, args)
                ref = pair_values(results, REFERENCE, col, args)
                diffs = [values[k] - ref[k] for k in values if k in ref]
                out[question][row][col] = dict(
                    stats=mean_std(values.values()),
                    paired=mean_std(diffs) if row != REFERENCE else None)
    return out


def per_class(results: Dict[str, dict], args, protocol: str,
              share: float) -> Dict[str, Dict[str, float]]:
    """{row: {class: mean IoU (%) over its pairs}} of one protocol/share."""
    out = {}
    for row in args.variants:
        runs = [
            results.get(
                downstream_name(student_name(row, p), protocol, share, d))
            for p in pretrain_seeds(row, args)
            for d in downstream_seeds(p, args)
        ]
        runs = [r['metrics'] for r in runs if r is not None]
        if not runs:
            continue
        keys = [
            k for k in runs[0]
            if k not in ('miou', 'acc', 'acc_cls') and '/' not in k
        ]
        out[row] = {
            k: float(np.mean([100 * r[k] for r in runs]))
            for k in keys
        }
    return out


def curve(results: Dict[str, dict], args) -> Dict[str, Dict[int, float]]:
    """{row: {pre-training iterations: linear-probe 100 % mIoU}}."""
    out = {}
    for row in CURVE:
        if row not in args.variants or 'linear' not in args.protocols:
            continue
        pseed = args.pretrain_seeds[0]
        student = student_name(row, pseed)
        dseed = downstream_seeds(pseed, args)[0]
        points = {}
        for it in curve_iters(row, pseed, args):
            at = None if it == args.pretrain_iters else it
            run = results.get(
                downstream_name(student, 'linear', 100, dseed, at))
            if run is not None:
                points[it] = 100 * run['metrics']['miou']
        out[row] = points
    return out


def zero_flow(results: Dict[str, dict]) -> Optional[Dict[str, float]]:
    """The zero-flow end-point errors (cm) of the held-out points (the
    same points in every flow run), or None without a flow run."""
    run = next((r for name, r in results.items() if '_flow_' in name), None)
    if run is None:
        return None
    return {
        m: 100 * run['metrics'][m.replace('epe', 'epe_zero')]
        for m in FLOW_METRICS
    }


def format_cell(stats: tuple, signed: bool = False) -> str:
    mean, std, n = stats
    if not n:
        return '-'
    sign = '+' if signed else ''
    return f'{mean:{sign}.1f} ± {std:.1f} (n={n})'


def format_tables(summary: dict,
                  classes: dict,
                  curve_points: dict,
                  args,
                  zero: Optional[Dict[str, float]] = None) -> str:
    cols = columns(args)
    header = '| row | ' + ' | '.join(column_label(c) for c in cols) + ' |'
    rule = '|---|' + '---:|' * len(cols)
    lines = [
        f'Demo world, held-out scenes, student {args.student}. '
        f'Pre-training {args.pretrain_iters} '
        f'iterations (batch 2, teacher cache); downstream '
        f'{args.downstream_iters} iterations (batch 2); flow head '
        f'{args.flow_steps} steps. Pre-training seeds {args.pretrain_seeds} '
        'for ' + ', '.join(VARIANTS[r].label
                           for r in args.seeded if r in args.variants) + ', '
        f'{args.pretrain_seeds[0]} for the others; '
        f'{args.downstream_seeds} downstream seed(s) each. Cells: mean ± '
        'std (n = pairs); mIoU in %, flow end-point error in cm.', ''
    ]
    if zero:
        lines[0] += (' Predicting no motion gives a flow EPE of '
                     f'{zero["epe_moving"]:.1f} cm on the moving and '
                     f'{zero["epe"]:.1f} cm on all held-out points.')
    for question, (title, _) in QUESTIONS.items():
        rows = summary[question]
        if not rows:
            continue
        lines += [f'**{title}**', '', header, rule]
        for row, cells in rows.items():
            lines.append(f'| {VARIANTS[row].label} | ' + ' | '.join(
                format_cell(cells[c]['stats']) for c in cols) + ' |')
        lines += [
            '', f'*{title}: paired difference to {VARIANTS[REFERENCE].label}*'
            ' (same pre-training and downstream seeds)', '', header, rule
        ]
        for row, cells in rows.items():
            if row == REFERENCE:
                continue
            lines.append(f'| {VARIANTS[row].label} | ' + ' | '.join(
                format_cell(cells[c]['paired'], signed=True)
                for c in cols) + ' |')
        lines.append('')
    for (protocol, share), table in classes.items():
        if not table:
            continue
        names = list(next(iter(table.values())))
        names = [c for c in OBJECT_CLASSES if c in names] + \
            [c for c in names if c not in OBJECT_CLASSES]
        lines += [
            f'**Per-class IoU (%), {PROTOCOLS[protocol]} {share:g} %** '
            '(mean over pairs; moving/object classes first)', '',
            '| row | ' + ' | '.join(names) + ' |',
            '|---|' + '---:|' * len(names)
        ]
        for row, values in table.items():
            lines.append(f'| {VARIANTS[row].label} | ' +
                         ' | '.join(f'{values[c]:.1f}' for c in names) + ' |')
        lines.append('')
    if curve_points:
        iters = sorted({i for p in curve_points.values() for i in p})
        lines += [
            '**Linear probe 100 % mIoU against pre-training length** '
            f'(seed {args.pretrain_seeds[0]})', '',
            '| row | ' + ' | '.join(f'{i} it' for i in iters) + ' |',
            '|---|' + '---:|' * len(iters)
        ]
        for row, points in curve_points.items():
            lines.append(f'| {VARIANTS[row].label} | ' +
                         ' | '.join(f'{points[i]:.1f}' if i in points else '-'
                                    for i in iters) + ' |')
        lines.append('')
    return '\n'.join(lines)


def plot(summary: dict,
         curve_points: dict,
         args,
         path: str,
         zero: Optional[Dict[str, float]] = None) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    rows = summary['components']
    for protocol, style in zip(args.protocols, ('-', '--')):
        for i, (row, cells) in enumerate(rows.items()):
            stats = [cells[(protocol, float(s))]['stats'] for s in args.shares]
            axes[0].errorbar(
                args.shares, [s[0] for s in stats],
                yerr=[s[1] for s in stats],
                linestyle=style,
                color=f'C{i}',
                marker='o',
                capsize=3,
                label=f'{VARIANTS[row].label}, {PROTOCOLS[protocol]}')
    axes[0].set_xscale('log')
    axes[0].set_xticks(list(args.shares))
    axes[0].set_xticklabels([f'{s:g}%' for s in args.shares])
    axes[0].set_xlabel('labelled training scans')
    axes[0].set_ylabel('mIoU (%), held-out demo scenes')
    axes[0].set_title('component rows')
    axes[0].legend(fontsize=6)
    names, means, stds = [], [], []
    for question in QUESTIONS:
        for row, cells in summary[question].items():
            if VARIANTS[row].label in names or args.no_flow:
                continue
            stats = cells[('flow', 'epe_moving')]['stats']
            names.append(VARIANTS[row].label)
            means.append(stats[0])
            stds.append(stats[1])
    axes[1].barh(names, means, xerr=stds, capsize=3)
    if zero:
        axes[1].axvline(
            zero['epe_moving'], color='k', linestyle=':', label='zero flow')
        axes[1].legend(fontsize=7)
    axes[1].set_xlabel('flow EPE on moving points (cm), lower is better')
    axes[1].set_title('scene-flow probe')
    axes[1].tick_params(axis='y', labelsize=7)
    for row, points in curve_points.items():
        its = sorted(points)
        axes[2].plot(
            its, [points[i] for i in its],
            marker='o',
            label=VARIANTS[row].label)
    axes[2].set_xlabel('pre-training iterations')
    axes[2].set_ylabel('linear probe 100 % mIoU (%)')
    axes[2].set_title('pre-training length')
    axes[2].legend(fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def measured_costs(runs: Dict[str, List[dict]], results: Dict[str,
                                                              dict]) -> dict:
    """Seconds per run and per iteration of each kind, as measured (the
    budget of a longer run follows from them)."""
    jobs = runs['pretrain'] + [j for js in runs['after'].values() for j in js]
    out = {}
    for kind in ('pretrain', 'downstream', 'flow'):
        done = [(j, results[j['name']]) for j in jobs
                if j['kind'] == kind and j['name'] in results]
        seconds = [r['seconds'] for _, r in done]
        iters = sum(j['iters'] for j, _ in done)
        out[kind] = dict(
            runs=len(done),
            seconds=float(sum(seconds)),
            per_run=float(np.mean(seconds)) if seconds else None,
            per_iter=float(sum(seconds) / iters) if iters else None)
    return out


def write_report(runs: Dict[str, List[dict]], results: Dict[str, dict],
                 totals: dict, args, start: float) -> Tuple[str, dict]:
    """Write ``probe_table.md``, ``probe_table.png`` and ``results.json``
    into the work dir; returns the tables' text and the measured costs."""
    summary = summarise(results, args)
    classes = {
        (p, s): per_class(results, args, p, s)
        for p, s in (('linear', 100.0), ('finetune', 1.0))
        if p in args.protocols and s in args.shares
    }
    curve_points = curve(results, args)
    zero = zero_flow(results)
    text = format_tables(summary, classes, curve_points, args, zero)
    with open(osp.join(args.work_dir, 'probe_table.md'), 'w') as f:
        f.write(text + '\n')
    plot(summary, curve_points, args, osp.join(args.work_dir,
                                               'probe_table.png'), zero)
    costs = measured_costs(runs, results)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(
                args=vars(args),
                plan=totals,
                runs=results,
                summary={
                    q: {
                        row: {
                            f'{c[0]}/{c[1]}': cell
                            for c, cell in cells.items()
                        }
                        for row, cells in rows.items()
                    }
                    for q, rows in summary.items()
                },
                per_class={
                    f'{p}/{s:g}': t
                    for (p, s), t in classes.items()
                },
                curve={
                    row: {
                        str(i): v
                        for i, v in points.items()
                    }
                    for row, points in curve_points.items()
                },
                costs=costs,
                total_s=time.time() - start),
            f,
            indent=1)
    return text, costs
