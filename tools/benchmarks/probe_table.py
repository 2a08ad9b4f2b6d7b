# Copyright (c) HilDA authors. All rights reserved.
"""What each part of HilDA buys: pre-train variants with one budget, then
linear-probe and fine-tune each on 1% / 10% / 100% of the labelled scans.

On the demo world (``tools/create_demo_data.py``), with the real-weight
offline teacher (ImageNet EfficientNet-Lite0) and the demo student
(MinkUNet18 w16), every method pre-trains for the same number of
iterations on the same cached teacher features (image augmentation off,
point augmentation on, ``tools/cache_teacher_features.py``):

- ``hilda``: the full objective (4 levels + global token + diffusion);
- ``nodiff``: no temporal occupancy diffusion;
- ``nocls``: no global token;
- ``noprevgrad`` (only with ``--methods``): the full objective with
  ``prev_grad=False`` (the student runs on t-1 without gradients, the
  cheaper step);
- ``lastlevel``: the last level only and nothing else (ScaLR-style);
- ``slidr``: last level, superpixel-pooled InfoNCE (SLidR-style);
- ``random``: no pre-training.

Each exported student then initialises mmdet3d's MinkUNet
(``configs/finetune/minkunet18-w16_spconv*_demo-lidarseg.py``) for

- ``linear``: backbone frozen, only the classifier trains;
- ``finetune``: everything trains;

on nested label-efficient splits (``tools/create_label_efficient_splits.py``;
the split seed is the run seed) with the same iterations for every share.
mIoU is mmdet3d's ``SegMetric`` on the held-out demo scenes, mean and
standard deviation over the seeds (the seed changes the split, the head's
initialisation and the data order; pre-training is run once per method).

Example (about an hour on 2 cores):
    python tools/benchmarks/probe_table.py --work-dir work_dirs/probe_table
    # -> probe_table.md, probe_table.png, results.json in the work dir
    python tools/benchmarks/probe_table.py --work-dir /tmp/probe --quick

Every training runs through mmengine's Runner with the repository's
configs (derived configs are dumped next to their logs); ``--jobs`` runs
that many trainings side by side (one CPU thread each).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

PRETRAIN_CONFIG = osp.join(
    REPO, 'configs', 'hilda',
    'hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py')
DOWNSTREAM_CONFIGS = dict(
    finetune=osp.join(REPO, 'configs', 'finetune',
                      'minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py'),
    linear=osp.join(
        REPO, 'configs', 'finetune',
        'minkunet18-w16_spconv-hilda-linear-probe_1xb2-200iter_'
        'demo-lidarseg.py'))
METHODS = dict(
    hilda='HilDA (full)',
    nodiff='no diffusion',
    nocls='no global token',
    noprevgrad='HilDA, t-1 without gradient',
    lastlevel='last level only (ScaLR-style)',
    slidr='superpixel InfoNCE (SLidR-style)',
    random='random init')
# Settings rather than ablations: run on request (--methods).
OPTIONAL_METHODS = ('noprevgrad', )
PROTOCOLS = dict(linear='linear probe', finetune='fine-tune')
SHARES = (1, 10, 100)
QUICK = dict(pretrain_iters=2, downstream_iters=2, seeds=[0])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', required=True)
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO, 'data', 'hilda_demo'),
        help='demo data (tools/create_demo_data.py)')
    parser.add_argument(
        '--methods',
        nargs='+',
        choices=list(METHODS),
        default=[m for m in METHODS if m not in OPTIONAL_METHODS],
        help=f'default: all but {OPTIONAL_METHODS}')
    parser.add_argument(
        '--shares',
        type=float,
        nargs='+',
        default=list(SHARES),
        help='label shares in percent of the training scans')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--pretrain-iters',
        type=int,
        default=150,
        help='pre-training iterations (batch 2) of every method')
    parser.add_argument(
        '--downstream-iters',
        type=int,
        default=80,
        help='iterations (batch 2) of every linear probe / fine-tuning')
    parser.add_argument(
        '--jobs',
        type=int,
        default=2,
        help='trainings run side by side (each uses one CPU thread)')
    parser.add_argument(
        '--reuse-pretrained',
        action='store_true',
        help='keep the students already exported in the work dir (re-run '
        'the downstream part only; the pre-training settings must be the '
        'same)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help=f'a minutes-long check of the whole pipeline: {QUICK}')
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    args.work_dir = osp.abspath(args.work_dir)
    args.data_root = osp.abspath(args.data_root) + '/'
    return args


# Configs ------------------------------------------------------------------
def _replace_step(pipeline: list, type_name: str, steps: list) -> list:
    index = [t['type'] for t in pipeline].index(type_name)
    return pipeline[:index] + steps + pipeline[index + 1:]


def pretrain_config(method: str, args, cache_dir: str):
    """The demo pre-training config of ``method`` (on the cache)."""
    from mmengine.config import Config
    cfg = Config.fromfile(PRETRAIN_CONFIG)
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = args.data_root
    pipeline = list(dataset.pipeline)
    reader = next(t for t in pipeline if t['type'] == 'LoadTeacherFeatures')
    reader['cache_dir'] = cache_dir
    last_level_only = dict(
        student=dict(num_levels=1),
        teacher=dict(num_levels=1),
        distill_head=dict(level_weights=[1.0]),
        global_token=None,
        diffusion_head=None)
    if method == 'nodiff':
        cfg.merge_from_dict({'model.diffusion_head': None})
    elif method == 'nocls':
        cfg.merge_from_dict({'model.global_token': None})
    elif method == 'noprevgrad':
        cfg.merge_from_dict({'model.prev_grad': False})
    elif method == 'lastlevel':
        cfg.merge_from_dict(dict(model=last_level_only))
    elif method == 'slidr':
        cfg.merge_from_dict(dict(model=last_level_only))
        cfg.merge_from_dict({
            'model.distill_head.loss':
            dict(type='SuperpixelInfoNCELoss', temperature=0.07)
        })
        # Superpixels need the pixels: decode the images, transformed as
        # in the cache run (checked by LoadTeacherFeatures).
        pipeline = _replace_step(pipeline, 'LoadTeacherFeatures', [
            dict(type='LoadCheckedMultiViewImages', num_views=6),
            dict(
                type='MultiViewImageAug',
                final_size=reader['image_size'],
                crop='center'),
            dict(type='ImageSuperpixels', num_segments=150), reader
        ])
    if method in ('lastlevel', 'slidr'):  # nothing reads t-1 / t+1
        pipeline = [
            t for t in pipeline
            if t['type'] not in ('LoadTemporalPoints', 'BEVOccupancyTarget')
        ]
        dataset.temporal = False
    dataset.pipeline = pipeline
    iters = args.pretrain_iters
    cfg.train_cfg.max_iters = iters
    cfg.param_scheduler[0].end = min(20, iters)
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = min(10, iters)
    return cfg


def downstream_config(protocol: str, checkpoint: Optional[str],
                      split_file: Optional[str], seed: int, args):
    """mmdet3d's MinkUNet on the demo labels, initialised from
    ``checkpoint`` (None: random)."""
    from mmengine.config import Config
    cfg = Config.fromfile(DOWNSTREAM_CONFIGS[protocol])
    if protocol == 'finetune' and checkpoint:
        cfg.model.backbone.init_cfg = dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='PretrainedWeightsCheckHook', module='backbone')
        ]
    elif protocol == 'linear':
        if checkpoint:
            cfg.model.backbone.init_cfg.checkpoint = checkpoint
        else:  # a linear classifier on random features
            cfg.model.backbone.init_cfg = None
            cfg.custom_hooks = [
                h for h in cfg.custom_hooks
                if h['type'] != 'PretrainedWeightsCheckHook'
            ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = args.data_root
    cfg.train_dataloader.dataset.subset_file = split_file
    # 1 % of the demo is one scan: the default sampler's epoch would end
    # (and mmengine pause 2 s) every iteration.
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    iters = args.downstream_iters
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_begin = iters + 1  # evaluated once, after training
    cfg.param_scheduler[0].end = min(20, iters)
    cfg.param_scheduler[1].end = iters
    cfg.param_scheduler[1].T_max = iters
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger.interval = min(20, iters)
    cfg.randomness = dict(seed=seed)
    return cfg


# Jobs (each in a worker process) -------------------------------------------
def run_job(job: dict) -> dict:
    """Train (and evaluate or export) one config through mmengine's Runner."""
    import torch
    from mmdet3d.utils import register_all_modules
    from mmengine.config import Config

    from projects.HilDA.hilda.utils.cli import build_runner
    from projects.HilDA.hilda.utils.weight_export import export_student
    torch.set_num_threads(1)
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(job['config'])
    if job['reuse']:
        return dict(name=job['name'], export=job['export'], train_s=0.0)
    cfg.work_dir = job['work_dir']
    cfg.experiment_name = job['name']
    start = time.time()
    runner = build_runner(cfg)
    runner.train()
    result = dict(name=job['name'], train_s=time.time() - start)
    if job['kind'] == 'pretrain':
        last = osp.join(job['work_dir'], f'iter_{cfg.train_cfg.max_iters}.pth')
        export_student(last, job['export'], 'minkunet')
        result['export'] = job['export']
    else:
        result['miou'] = float(runner.val()['miou'])
    return result


def _quiet_worker() -> None:
    """Worker processes keep their logs in the runs' work dirs only, and
    end with the main process (killed or interrupted)."""
    import warnings
    warnings.filterwarnings('ignore')
    sys.stdout = open(os.devnull, 'w')
    if sys.platform.startswith('linux'):
        import ctypes
        import signal
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL('libc.so.6').prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_jobs(jobs: List[dict], num_workers: int, what: str) -> Dict[str, dict]:
    """Run jobs side by side; every worker process runs jobs in turn."""
    results = {}
    context = get_context('spawn')
    with ProcessPoolExecutor(
            num_workers, mp_context=context,
            initializer=_quiet_worker) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        for done, future in enumerate(futures, 1):
            job = futures[future]
            try:
                result = future.result()
            except Exception as e:
                sys.exit(f'probe_table.py: error: {job["name"]} failed: '
                         f'{type(e).__name__}: {e} (logs: '
                         f'{job["work_dir"]})')
            results[job['name']] = result
            extra = (f'mIoU {100 * result["miou"]:.1f}' if 'miou' in result
                     else 'reused' if job['reuse'] else 'exported')
            print(
                f'[probe_table] {what} {done}/{len(jobs)} '
                f'{job["name"]}: {extra}, {result["train_s"]:.0f} s',
                flush=True)
    return results


def make_job(name: str, kind: str, cfg, args, **extra) -> dict:
    work_dir = osp.join(args.work_dir, kind, name)
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, f'{name}.py')
    cfg.dump(path)
    reuse = (
        kind == 'pretrain' and args.reuse_pretrained
        and osp.isfile(extra['export']))
    return dict(
        name=name,
        kind=kind,
        config=path,
        work_dir=work_dir,
        reuse=reuse,
        **extra)


# Steps --------------------------------------------------------------------
def ensure_cache(args) -> str:
    """The teacher-feature cache of the demo data (written when missing)."""
    cache_dir = osp.join(args.data_root, 'teacher_cache',
                         'effnetlite0_224x392')
    if osp.isfile(osp.join(cache_dir, 'meta.json')):
        return cache_dir
    print(
        f'[probe_table] caching teacher features into {cache_dir}', flush=True)
    subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'cache_teacher_features.py'), PRETRAIN_CONFIG,
        '--out-dir', cache_dir, '--cfg-options',
        f'train_dataloader.dataset.data_root={args.data_root}'
    ],
                   check=True)
    return cache_dir


def label_splits(args) -> Dict[tuple, Optional[str]]:
    """{(share, seed): subset file or None for 100%}."""
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from create_label_efficient_splits import create_splits
    info = osp.join(args.data_root, 'nuscenes_infos_train.pkl')
    splits = {}
    for seed in args.seeds:
        partial = [s for s in args.shares if s < 100]
        paths = create_splits(info, partial, osp.join(args.work_dir, 'splits'),
                              seed)
        for share in args.shares:
            splits[(share, seed)] = paths.get(share)
    return splits


def summarise(runs: Dict[str, dict], args) -> dict:
    """{protocol: {method: {share: (mean, std, n)}}} in mIoU points."""
    import numpy as np
    table = {}
    for protocol in PROTOCOLS:
        table[protocol] = {}
        for method in args.methods:
            table[protocol][method] = {}
            for share in args.shares:
                values = [
                    100 * runs[job_name(method, protocol, share, s)]['miou']
                    for s in args.seeds
                ]
                table[protocol][method][share] = (float(np.mean(values)),
                                                  float(np.std(values)),
                                                  len(values))
    return table


def job_name(method, protocol, share, seed) -> str:
    return f'{method}_{protocol}_{share:g}pct_seed{seed}'


def format_table(table: dict, args) -> str:
    header = ['method', *[f'{s:g}% labels' for s in args.shares]]
    lines = [
        f'mIoU (%) on the held-out demo scenes, mean ± std over seeds '
        f'{args.seeds}; pre-training {args.pretrain_iters} iterations, '
        f'downstream {args.downstream_iters} iterations (batch 2) for every '
        'method and share.', ''
    ]
    for protocol, label in PROTOCOLS.items():
        lines += [
            f'**{label}**', '', '| ' + ' | '.join(header) + ' |',
            '|' + '---|' * len(header)
        ]
        for method in args.methods:
            cells = [
                f'{m:.1f} ± {s:.1f}'
                for m, s, _ in table[protocol][method].values()
            ]
            lines.append(f'| {METHODS[method]} | ' + ' | '.join(cells) + ' |')
        lines.append('')
    return '\n'.join(lines)


def plot(table: dict, args, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, (protocol, label) in zip(axes, PROTOCOLS.items()):
        for method in args.methods:
            stats = table[protocol][method]
            shares = list(stats)
            ax.errorbar(
                shares, [stats[s][0] for s in shares],
                yerr=[stats[s][1] for s in shares],
                marker='o',
                capsize=3,
                label=METHODS[method])
        ax.set_xscale('log')
        ax.set_xticks(list(args.shares))
        ax.set_xticklabels([f'{s:g}%' for s in args.shares])
        ax.set_xlabel('labelled training scans')
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('mIoU (%), held-out demo scenes')
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    for split in ('train', 'val'):
        info = osp.join(args.data_root, f'nuscenes_infos_{split}.pkl')
        if not osp.isfile(info):
            sys.exit(f'probe_table.py: error: {info} does not exist '
                     '(python tools/create_demo_data.py --out-dir '
                     f'{args.data_root})')
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.time()
    cache_dir = ensure_cache(args)
    pretrain_jobs = [
        make_job(
            method,
            'pretrain',
            pretrain_config(method, args, cache_dir),
            args,
            export=osp.join(args.work_dir, 'pretrain', method,
                            f'{method}_minkunet.pth'))
        for method in args.methods if method != 'random'
    ]
    pretrained = run_jobs(pretrain_jobs, args.jobs, 'pre-training')
    pretrain_s = time.time() - start
    splits = label_splits(args)
    jobs = []
    for method in args.methods:
        checkpoint = pretrained.get(method, {}).get('export')
        for protocol in PROTOCOLS:
            for share in args.shares:
                for seed in args.seeds:
                    cfg = downstream_config(protocol, checkpoint,
                                            splits[(share, seed)], seed, args)
                    jobs.append(
                        make_job(
                            job_name(method, protocol, share, seed),
                            'downstream', cfg, args))
    runs = run_jobs(jobs, args.jobs, 'downstream')
    table = summarise(runs, args)
    text = format_table(table, args)
    with open(osp.join(args.work_dir, 'probe_table.md'), 'w') as f:
        f.write(text + '\n')
    plot(table, args, osp.join(args.work_dir, 'probe_table.png'))
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(
                args=vars(args),
                pretrain=pretrained,
                runs=runs,
                table={
                    p: {
                        m: {
                            f'{s:g}': v
                            for s, v in t.items()
                        }
                        for m, t in table[p].items()
                    }
                    for p in table
                },
                pretrain_s=pretrain_s,
                total_s=time.time() - start),
            f,
            indent=1)
    print(text)
    print(f'[probe_table] {len(pretrain_jobs)} pre-trainings in '
          f'{pretrain_s:.0f} s, {len(jobs)} downstream runs; total '
          f'{time.time() - start:.0f} s; {args.work_dir}/probe_table.md, '
          'probe_table.png, results.json')


if __name__ == '__main__':
    main()
