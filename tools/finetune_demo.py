# Copyright (c) HilDA authors. All rights reserved.
"""What HilDA pre-training buys on the demo world, with its spread: a
linear probe on all labels and a label-scarce fine-tune, each from HilDA
weights and from random weights with the same budget, over several seeds.

Two pairs (``--protocols``), mmdet3d's MinkUNet with the demo student's
size, mIoU on the held-out demo scenes (``SegMetric`` on
``nuscenes_infos_val.pkl``, scenes never seen in pre-training or
fine-tuning):

- linear probe on 100 % of the labels: the backbone frozen, only the
  linear classifier trains; HilDA weights vs a random backbone;
- fine-tune on ``--share`` % of the labelled scans (default 10 %: 6 of the
  demo's 60): HilDA weights vs scratch.

Each downstream seed (``--seeds N``: 0 .. N-1) sets the label split, the
head's initialisation and the data order, the same for both inits of a
pair; every run has ``--iters`` iterations of batch 2. The table shows
each init's mean ± std over the seeds (one run's spread), the pair's
difference per seed and its mean ± std, and says whether the difference is
larger than its spread (its 95 % interval over the seeds, Student's t,
excludes 0) or within it. The runs are those of
``tools/benchmarks/probe_table.py`` (its downstream configs, label splits
and worker), so the two tools measure the same thing.

Example (the end of ``make demo``):
    python tools/finetune_demo.py \
        --pretrained work_dirs/demo/hilda_minkunet18-w16_demo.pth \
        --work-dir work_dirs/demo/finetune

The terminal shows one progress bar over every run (iterations, rate, time
left, the running runs' last logged iteration); each run's mmengine log is
in ``<work-dir>/downstream/<run>/``. A re-run with the same work dir reuses
the finished runs of the same weights, data and iterations (a
random-init run is reused whatever the weights) and re-runs the others.
"""
import argparse
import json
import os
import os.path as osp
import pickle
import sys
import time
from collections import OrderedDict
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from projects.HilDA.analysis import jobs  # noqa: E402
from projects.HilDA.analysis.probe_table import plan as probe_plan  # noqa
from projects.HilDA.analysis.probe_table import run as probe_run  # noqa
from projects.HilDA.analysis.probe_table.report import (  # noqa: E402
    format_cell, mean_std)
from projects.HilDA.hilda.apis import run_tool  # noqa: E402
from projects.HilDA.hilda.checkpoints import check_exported_weights  # noqa
from projects.HilDA.hilda.checkpoints import sha256_file  # noqa: E402
from projects.HilDA.hilda.errors import ConfigError, HilDAError  # noqa: E402

# protocol: (its label, the label share it runs on (None: --share), the
# label of its random-init baseline)
PROTOCOLS = OrderedDict(
    linear=('linear probe', 100.0, 'random init'),
    finetune=('fine-tune', None, 'scratch'))
INITS = ('hilda', 'random')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog='\n'.join(__doc__.splitlines()[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--pretrained',
        required=True,
        help='HilDA student exported for MinkUNet '
        '(tools/model_converters/hilda_to_mmdet3d.py --target minkunet)')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument(
        '--iters',
        type=int,
        default=100,
        help='training iterations (batch 2) of every run')
    parser.add_argument(
        '--seeds',
        type=int,
        default=3,
        help='downstream seeds 0 .. N-1, each run for both inits of every '
        'pair (N >= 2 measures the spread)')
    parser.add_argument(
        '--share',
        type=float,
        default=10.0,
        help='labelled training scans of the fine-tune pair, in percent '
        '(tools/create_label_efficient_splits.py)')
    parser.add_argument(
        '--protocols',
        nargs='+',
        choices=list(PROTOCOLS),
        default=list(PROTOCOLS),
        help='pairs to run: linear (probe, 100 %% of the labels) and '
        'finetune (--share %% of the labels)')
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO, 'data', 'hilda_demo'),
        help='demo data (tools/create_demo_data.py)')
    parser.add_argument(
        '--jobs',
        type=int,
        default=2,
        help='runs side by side (each uses one CPU thread)')
    parser.add_argument(
        '--progress-interval',
        type=float,
        default=10.0,
        help='seconds between progress updates')
    args = parser.parse_args(argv)
    args.protocols = list(dict.fromkeys(args.protocols))  # once each
    return args


def check_args(args) -> None:
    """Refuse bad input before anything is written or trained."""
    if args.iters < 1:
        raise ConfigError('--iters must be >= 1')
    if args.seeds < 1:
        raise ConfigError('--seeds must be >= 1')
    if args.jobs < 1:
        raise ConfigError('--jobs must be >= 1')
    if not 0 < args.share <= 100:
        raise ConfigError(f'--share must be in (0, 100], got {args.share:g}')
    if not osp.isfile(args.pretrained):
        raise HilDAError(f'{args.pretrained} does not exist (export it with '
                         'tools/model_converters/hilda_to_mmdet3d.py '
                         '--target minkunet)')
    # Before any run, which would otherwise train in full before the
    # HilDA run meets a wrong file.
    check_exported_weights(args.pretrained, 'minkunet')
    for split in ('train', 'val'):
        info = osp.join(args.data_root, f'nuscenes_infos_{split}.pkl')
        if not osp.isfile(info):
            raise HilDAError(f'{info} does not exist '
                             '(tools/create_demo_data.py --out-dir DATA_ROOT)')


def probe_args(args) -> argparse.Namespace:
    """The settings the probe table's functions read, for this tool's runs
    (its downstream seeds of pre-training seed 0 are 0 .. N-1)."""
    return argparse.Namespace(
        student=probe_plan.DEFAULT_STUDENT,  # mmdet3d's MinkUNet
        work_dir=osp.abspath(args.work_dir),
        data_root=osp.abspath(args.data_root) + '/',
        shares=sorted({share(p, args)
                       for p in args.protocols}),
        pretrain_seeds=[0],
        downstream_seeds=args.seeds,
        downstream_iters=args.iters)


def share(protocol: str, args) -> float:
    """The label share (%) a protocol's pair runs on."""
    fixed = PROTOCOLS[protocol][1]
    return float(args.share) if fixed is None else fixed


def run_name(init: str, protocol: str, seed: int, args) -> str:
    return probe_plan.downstream_name(init, protocol, share(protocol, args),
                                      seed)


def plan(args, pretrained: str) -> List[dict]:
    """Every run, as the probe table plans a downstream run: per seed and
    protocol, HilDA then its random-init baseline (side by side with two
    jobs)."""
    runs = []
    for seed in range(args.seeds):
        for protocol in args.protocols:
            for init in INITS:
                runs.append(
                    dict(
                        name=run_name(init, protocol, seed, args),
                        kind='downstream',
                        protocol=protocol,
                        share=share(protocol, args),
                        seed=seed,
                        checkpoint=pretrained if init == 'hilda' else None,
                        iters=args.iters))
    return runs


def drop_stale_results(plan_jobs: List[jobs.Job]) -> List[str]:
    """Delete the ``result.json`` of each job whose earlier run had another
    budget (other weights, data or iterations), so that it runs again;
    returns their names."""
    stale = []
    for job in plan_jobs:
        try:
            jobs.earlier_result(job)
        except jobs.JobError:
            os.remove(osp.join(job.work_dir, 'result.json'))
            stale.append(job.name)
    return stale


def pair_stats(results: Dict[str, dict], protocol: str, args) -> dict:
    """One pair's mIoU (%) per init and seed, each init's (mean, std, n)
    and the per-seed differences HilDA - baseline with their (mean, std,
    n); seeds whose run is missing are left out of both."""
    miou = {
        init: {
            seed: 100 * results[name]['metrics']['miou']
            for seed in range(args.seeds)
            for name in [run_name(init, protocol, seed, args)]
            if name in results
        }
        for init in INITS
    }
    seeds = sorted(set(miou['hilda']) & set(miou['random']))
    diffs = [miou['hilda'][s] - miou['random'][s] for s in seeds]
    return dict(
        seeds=seeds,
        miou=miou,
        stats={init: mean_std(miou[init][s] for s in seeds)
               for init in INITS},
        diffs=diffs,
        diff=mean_std(diffs))


def interval(diffs: List[float]) -> tuple:
    """The 95 % confidence interval of the mean difference (Student's t,
    n - 1 degrees of freedom); needs two seeds."""
    from scipy.stats import t
    mean, std, n = mean_std(diffs)
    half = float(t.ppf(0.975, n - 1)) * std / n**0.5
    return (mean - half, mean + half)


def verdict(diffs: List[float], baseline: str) -> str:
    """Whether a pair's difference is larger than its spread: its 95 %
    interval over the seeds excludes 0."""
    if len(diffs) < 2:
        return ('one seed, so its spread is unknown (one run varies by '
                'several mIoU points; --seeds 3 measures it)')
    low, high = interval(diffs)
    span = f'95 % interval {low:+.1f} to {high:+.1f} over {len(diffs)} seeds'
    if low > 0 or high < 0:
        ahead = 'ahead of' if low > 0 else 'behind'
        return (f'larger than its spread ({span}): HilDA is {ahead} '
                f'{baseline}')
    return (f'within the spread ({span}): these runs cannot tell HilDA '
            f'from {baseline}')


def scan_count(data_root: str, split_file: Optional[str]) -> str:
    """'<n> of <total> scans' a pair trains on."""
    if split_file is not None:
        with open(split_file) as f:
            split = json.load(f)
        return f'{split["num_samples"]} of {split["num_samples_total"]} scans'
    with open(osp.join(data_root, 'nuscenes_infos_train.pkl'), 'rb') as f:
        infos = pickle.load(f)
    data_list = infos['data_list'] if isinstance(infos, dict) else infos
    return f'all {len(data_list)} scans'


def format_table(pairs: Dict[str, dict], scans: Dict[str, str], args) -> str:
    """The final table: per pair, each init's mIoU (mean ± std over the
    seeds), the per-seed differences and their mean ± std."""
    header = [
        'protocol', 'labels', 'HilDA', 'baseline', 'baseline mIoU',
        'HilDA - baseline per seed', 'mean ± std'
    ]
    rows = []
    for protocol, pair in pairs.items():
        label, _, baseline = PROTOCOLS[protocol]
        rows.append([
            label, f'{share(protocol, args):g} % ({scans[protocol]})',
            format_cell(pair['stats']['hilda']), baseline,
            format_cell(pair['stats']['random']),
            ' / '.join(f'{d:+.1f}' for d in pair['diffs']) or '-',
            format_cell(pair['diff'], signed=True)
        ])
    widths = [
        max(len(r[i]) for r in [header] + rows) for i in range(len(header))
    ]

    def line(cells):
        return '| ' + ' | '.join(c.ljust(w)
                                 for c, w in zip(cells, widths)) + ' |'

    sep = '|' + '|'.join('-' * (w + 2) for w in widths) + '|'
    return '\n'.join([
        f'Demo world, mIoU (%) on the held-out scenes (SegMetric); '
        f'{args.iters} iterations x batch 2 per run; downstream seeds '
        f'0-{args.seeds - 1} (each: label split, head initialisation, data '
        'order; the same for both inits of a pair); mean ± std over the '
        'seeds:',
        line(header), sep, *[line(r) for r in rows]
    ])


def summary_lines(pairs: Dict[str, dict], args) -> List[str]:
    """One line per pair: the difference, its spread and the verdict."""
    lines = []
    for protocol, pair in pairs.items():
        label, _, baseline = PROTOCOLS[protocol]
        mean, std, n = pair['diff']
        lines.append(f'{label} {share(protocol, args):g} %: HilDA - '
                     f'{baseline}: {mean:+.1f} ± {std:.1f} mIoU points '
                     f'({n} seed{"s" if n != 1 else ""}): '
                     f'{verdict(pair["diffs"], baseline)}')
    return lines


def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    start = time.time()
    pretrained = osp.abspath(args.pretrained)
    pargs = probe_args(args)
    splits = probe_run.label_splits(pargs)
    budget = dict(data_root=pargs.data_root)
    weights = dict(weights_sha256=sha256_file(pretrained))
    plan_jobs = []
    for run in plan(args, pretrained):
        job = probe_run.to_job(run, pargs, None, splits)
        job.budget = dict(job.budget, **budget,
                          **(weights if run['checkpoint'] else {}))
        plan_jobs.append(job)
    stale = drop_stale_results(plan_jobs)
    if stale:
        print(
            f'[finetune_demo] re-running {len(stale)} earlier run(s) of other '
            f'weights, data or iterations: {", ".join(stale)}',
            flush=True)
    scans = {
        p: scan_count(pargs.data_root, splits[(share(p, args), 0)])
        for p in args.protocols
    }
    print(
        '[finetune_demo] ' +
        ', '.join(f'{PROTOCOLS[p][0]} on {share(p, args):g} % ({scans[p]})'
                  for p in args.protocols) +
        f'; HilDA and random init, seeds 0-{args.seeds - 1}: '
        f'{len(plan_jobs)} runs of {args.iters} iterations, {args.jobs} side '
        f'by side (logs in {pargs.work_dir}/downstream/*/)',
        flush=True)
    results = jobs.run_jobs(
        plan_jobs,
        'finetune_demo',
        workers=args.jobs,
        interval=args.progress_interval)
    pairs = OrderedDict(
        (p, pair_stats(results, p, args)) for p in args.protocols)
    print(format_table(pairs, scans, args))
    for line in summary_lines(pairs, args):
        print(line)
    print(f'total {time.time() - start:.0f} s')
    summary = dict(
        iters=args.iters,
        seeds=list(range(args.seeds)),
        share=args.share,
        pretrained=pretrained,
        pairs={
            p:
            dict(
                share=share(p, args),
                scans=scans[p],
                miou=pair['miou'],
                diffs=pair['diffs'],
                verdict=verdict(pair['diffs'], PROTOCOLS[p][2]))
            for p, pair in pairs.items()
        },
        runs={
            job.name:
            dict(
                metrics=results[job.name]['metrics'],
                seconds=results[job.name]['seconds'],
                work_dir=job.work_dir)
            for job in plan_jobs
        })
    with open(osp.join(pargs.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    run_tool(main, 'finetune_demo.py')
