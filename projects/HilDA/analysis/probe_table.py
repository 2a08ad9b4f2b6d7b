# Copyright (c) HilDA authors. All rights reserved.
"""What each part of HilDA buys on the demo world: the paper's ablations,
pre-trained from config files, probed downstream, with seeds.

Library of ``tools/benchmarks/probe_table.py``. Every variant is a config
file (:data:`VARIANTS`: the demo teacher-cache config and
``configs/hilda/ablations/demo/*``, each stating only its delta); the
tool only adds what is the same for all of them (data root, teacher
cache, iterations, seed, checkpoint interval). Three questions
(:data:`QUESTIONS`) read the variants:

- the paper's component rows (random init, base, + diffusion,
  + multi-level, + multi-level + CLS, + diffusion + multi-level, full);
- diffusion vs a plain BCE occupancy decoder of the same capacity vs none;
- which levels: last two (paper), four, last only (stride 32), finest only
  (the finer map of the pair, stride 16).

Downstream, on the held-out demo scenes, for each pre-trained student:
linear probe and fine-tuning of mmdet3d's MinkUNet on nested 1/10/100 %
label splits (``tools/create_label_efficient_splits.py``), mIoU and
per-class IoU (``SegMetric``); and the scene-flow probe
(:mod:`.scene_flow_probe`, end-point error). Seeds: the ``--seeded``
variants (default :data:`SEEDED`) pre-train with every
``--pretrain-seeds`` seed, the others with the first; each pre-training
seed ``p`` has its own downstream seeds ``100 p + k`` (``k <
--downstream-seeds``), which set the label split, the head's
initialisation and the data order. The same
``(p, k)`` pair means the same split and seed in every row, so each row's
difference to full HilDA is taken pair by pair (paired difference, mean
and standard deviation over the pairs). The curve: the first seed's runs of
:data:`CURVE` keep a checkpoint every ``--curve-every`` iterations, each
is linear-probed on 100 % of the labels.

Runs are resumable: each writes ``result.json`` in its own work dir, and
a re-run with the same work dir and settings reuses them.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Dict, List, NamedTuple, Optional

import numpy as np

from projects.HilDA.hilda.errors import HilDAError
from .progress import ChildRunProgress

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIGS = osp.join(REPO, 'configs')
SUFFIX = '_minkunet18-w16-effnetlite0_1xb2-150iter_demo-teachercache.py'
FULL_CONFIG = osp.join(CONFIGS, 'hilda', 'hilda' + SUFFIX)
DOWNSTREAM_CONFIGS = dict(
    finetune=osp.join(CONFIGS, 'finetune',
                      'minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py'),
    linear=osp.join(
        CONFIGS, 'finetune',
        'minkunet18-w16_spconv-hilda-linear-probe_1xb2-200iter_'
        'demo-lidarseg.py'))


class Variant(NamedTuple):
    label: str
    config: Optional[str]  # None: no pre-training (random init)


def _ablation(name: str) -> str:
    return osp.join(CONFIGS, 'hilda', 'ablations', 'demo', name + SUFFIX)


VARIANTS = OrderedDict(
    random=Variant('random init', None),
    base=Variant('base: last level (ScaLR-style)',
                 _ablation('hilda-lastlevel')),
    diff=Variant('+ diffusion', _ablation('hilda-lastlevel-diff')),
    ml=Variant('+ multi-level', _ablation('hilda-multilevel')),
    ml_cls=Variant('+ multi-level + CLS (no diffusion)',
                   _ablation('hilda-nodiff')),
    diff_ml=Variant('+ diffusion + multi-level (no CLS)',
                    _ablation('hilda-nocls')),
    full=Variant('HilDA (full)', FULL_CONFIG),
    occdec=Variant('BCE occupancy decoder instead of diffusion',
                   _ablation('hilda-occdecoder')),
    levels4=Variant('four levels', _ablation('hilda-4levels')),
    onlylast=Variant('last level only (stride 32)',
                     _ablation('hilda-onlylast')),
    finest=Variant('finest level only (stride 16)',
                   _ablation('hilda-finestonly')),
    noprevgrad=Variant('HilDA, t-1 without gradient',
                       _ablation('hilda-noprevgrad')),
    epsonly=Variant('diffusion, epsilon MSE only (lambda = 0)',
                    _ablation('hilda-epsonly')),
)
# Settings and follow-up rows rather than the paper's ablations: run on
# request (--variants).
OPTIONAL = ('noprevgrad', 'epsonly')
QUESTIONS = OrderedDict(
    components=('The paper\'s component rows',
                ['random', 'base', 'diff', 'ml', 'ml_cls', 'diff_ml', 'full']),
    diffusion=('Diffusion vs a plain occupancy decoder (BCE, same '
               'capacity) vs none', ['full', 'occdec', 'ml_cls', 'epsonly']),
    levels=('Which levels are distilled (CLS and diffusion kept)',
            ['full', 'levels4', 'onlylast', 'finest']),
    settings=('Project settings', ['full', 'noprevgrad']),
)
REFERENCE = 'full'
# The teacher-feature cache is written with this variant's config: its four
# levels include every other variant's (a cache serves any subset).
CACHE_VARIANT = 'levels4'
SEEDED = ('full', 'base', 'ml_cls', 'random')
CURVE = ('full', 'ml_cls')
PROTOCOLS = OrderedDict(linear='linear probe', finetune='fine-tune')
# Moving and object classes (the paper: diffusion helps these most).
OBJECT_CLASSES = ('car', 'truck', 'bus', 'pedestrian', 'bicycle', 'motorcycle',
                  'barrier', 'traffic_cone')
FLOW_METRICS = OrderedDict(
    epe_moving='flow EPE moving (cm)', epe='flow EPE all (cm)')
QUICK = dict(
    pretrain_iters=2,
    downstream_iters=2,
    curve_every=1,
    pretrain_seeds=[0],
    downstream_seeds=1,
    flow_train_scans=2,
    flow_val_scans=1,
    flow_steps=2)


# Arguments ----------------------------------------------------------------
def build_parser(prog: str = 'probe_table.py') -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description='What each part of HilDA buys on the demo world '
        '(pre-train the ablation configs, probe them downstream).',
        epilog=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', required=True)
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO, 'data', 'hilda_demo'),
        help='demo data (tools/create_demo_data.py)')
    parser.add_argument(
        '--variants',
        nargs='+',
        choices=list(VARIANTS),
        default=[v for v in VARIANTS if v not in OPTIONAL],
        help=f'rows to run (default: all but {OPTIONAL}); a question is '
        'shown when two of its rows ran')
    parser.add_argument(
        '--pretrain-seeds',
        type=int,
        nargs='+',
        default=[0, 1, 2],
        help='pre-training seeds of the --seeded rows; the other rows use '
        'the first')
    parser.add_argument(
        '--seeded',
        nargs='+',
        choices=list(VARIANTS),
        default=list(SEEDED),
        help='rows pre-trained with every --pretrain-seeds seed (default: '
        f'{" ".join(SEEDED)}); {REFERENCE}, the reference of the paired '
        'differences, always is')
    parser.add_argument(
        '--downstream-seeds',
        type=int,
        default=1,
        help='downstream seeds per pre-training seed')
    parser.add_argument(
        '--shares',
        type=float,
        nargs='+',
        default=[1, 10, 100],
        help='label shares in percent of the training scans')
    parser.add_argument(
        '--protocols',
        nargs='+',
        choices=list(PROTOCOLS),
        default=list(PROTOCOLS))
    parser.add_argument(
        '--pretrain-iters',
        type=int,
        default=150,
        help='pre-training iterations (batch 2) of every variant')
    parser.add_argument(
        '--downstream-iters',
        type=int,
        default=40,
        help='iterations (batch 2) of every linear probe / fine-tuning')
    parser.add_argument(
        '--curve-every',
        type=int,
        default=50,
        help=f'checkpoint interval of the curve runs {CURVE} (0: no '
        'curve)')
    parser.add_argument('--flow-train-scans', type=int, default=24)
    parser.add_argument('--flow-val-scans', type=int, default=18)
    parser.add_argument('--flow-steps', type=int, default=300)
    parser.add_argument(
        '--no-flow', action='store_true', help='skip the scene-flow probe')
    parser.add_argument(
        '--jobs',
        type=int,
        default=2,
        help='runs side by side (each uses one CPU thread)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help=f'a minutes-long check of the whole pipeline: {QUICK}')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='print the plan (runs and iterations) and exit')
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if args.downstream_seeds < 1 or not args.pretrain_seeds:
        raise SystemExit('probe_table.py: error: at least one pre-training '
                         'and one downstream seed')
    # Every seeded row is paired with the reference's run of the same seed.
    if REFERENCE not in args.seeded:
        args.seeded = [REFERENCE] + list(args.seeded)
    args.work_dir = osp.abspath(args.work_dir)
    args.data_root = osp.abspath(args.data_root) + '/'
    return args


# Plan ---------------------------------------------------------------------
def pretrain_seeds(variant: str, args) -> List[int]:
    return list(args.pretrain_seeds) if variant in args.seeded else \
        [args.pretrain_seeds[0]]


def downstream_seeds(pseed: int, args) -> List[int]:
    """A pre-training seed's own downstream seeds."""
    return [100 * pseed + k for k in range(args.downstream_seeds)]


def curve_iters(variant: str, pseed: int, args) -> List[int]:
    """Pre-training iterations whose checkpoints are probed for the curve
    (the last one is the main run's)."""
    if (variant not in CURVE or pseed != args.pretrain_seeds[0]
            or args.curve_every <= 0):
        return [args.pretrain_iters]
    return sorted(
        set(range(args.curve_every, args.pretrain_iters, args.curve_every))
        | {args.pretrain_iters})


def student_name(variant: str, pseed: int) -> str:
    return f'{variant}_p{pseed}'


def downstream_name(student: str,
                    protocol: str,
                    share: float,
                    dseed: int,
                    iters: Optional[int] = None) -> str:
    at = f'_it{iters}' if iters is not None else ''
    return f'{student}{at}_{protocol}_{share:g}pct_d{dseed}'


def flow_name(student: str, dseed: int) -> str:
    return f'{student}_flow_d{dseed}'


def plan(args) -> Dict[str, List[dict]]:
    """Every run: ``pretrain`` jobs and, per student, its ``downstream``
    (and ``flow``) jobs; each a dict with ``name``, ``kind`` and what the
    worker needs (no config is built here)."""
    pretrain, after = [], {}
    for variant in args.variants:
        for pseed in pretrain_seeds(variant, args):
            student = student_name(variant, pseed)
            iters = curve_iters(variant, pseed, args)
            pre = None
            if VARIANTS[variant].config is not None:
                pre = dict(
                    name=student,
                    kind='pretrain',
                    variant=variant,
                    seed=pseed,
                    iters=args.pretrain_iters,
                    exports={
                        it:
                        osp.join(args.work_dir, 'pretrain', student,
                                 f'student_iter{it}.pth')
                        for it in iters
                    })
                pretrain.append(pre)
            jobs = []
            last = pre['exports'][args.pretrain_iters] if pre else None
            for dseed in downstream_seeds(pseed, args):
                for protocol in args.protocols:
                    for share in args.shares:
                        jobs.append(
                            dict(
                                name=downstream_name(student, protocol, share,
                                                     dseed),
                                kind='downstream',
                                protocol=protocol,
                                share=share,
                                seed=dseed,
                                checkpoint=last,
                                iters=args.downstream_iters))
                if not args.no_flow:
                    # Progress in scans (the student's forward passes
                    # dominate; the head's steps are cheap).
                    jobs.append(
                        dict(
                            name=flow_name(student, dseed),
                            kind='flow',
                            seed=dseed,
                            checkpoint=last,
                            iters=args.flow_train_scans + args.flow_val_scans))
            for it in iters[:-1]:
                jobs.append(
                    dict(
                        name=downstream_name(student, 'linear', 100,
                                             downstream_seeds(pseed, args)[0],
                                             it),
                        kind='downstream',
                        protocol='linear',
                        share=100.0,
                        seed=downstream_seeds(pseed, args)[0],
                        checkpoint=pre['exports'][it],
                        iters=args.downstream_iters))
            after[student] = jobs
    return dict(pretrain=pretrain, after=after)


def plan_summary(runs: Dict[str, List[dict]]) -> dict:
    """Counts and iterations of the plan, by kind (for the budget)."""
    jobs = runs['pretrain'] + [j for js in runs['after'].values() for j in js]
    out = {}
    for kind in ('pretrain', 'downstream', 'flow'):
        of_kind = [j for j in jobs if j['kind'] == kind]
        out[kind] = dict(
            runs=len(of_kind), iters=sum(j['iters'] for j in of_kind))
    return out


# Configs ------------------------------------------------------------------
def pretrain_config(variant: str,
                    seed: int,
                    args,
                    cache_dir: str,
                    checkpoint_interval: Optional[int] = None):
    """The variant's config file with what every variant shares here: data
    root, teacher cache, iterations, seed, checkpoint and log interval."""
    from mmengine.config import Config
    cfg = Config.fromfile(VARIANTS[variant].config)
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = args.data_root
    for step in dataset.pipeline:
        if step['type'] == 'LoadTeacherFeatures':
            step['cache_dir'] = cache_dir
    if 'teacher_cache' in cfg:  # the tools refuse a copy that differs
        cfg.teacher_cache = cache_dir
    iters = args.pretrain_iters
    cfg.train_cfg.max_iters = iters
    cfg.param_scheduler[0].end = min(cfg.param_scheduler[0].end, iters)
    cfg.default_hooks.checkpoint.interval = checkpoint_interval or iters
    cfg.default_hooks.logger.interval = min(10, iters)
    cfg.randomness = dict(seed=seed)
    return cfg


def downstream_config(protocol: str, checkpoint: Optional[str],
                      split_file: Optional[str], seed: int, args):
    """mmdet3d's MinkUNet on the demo labels, initialised from
    ``checkpoint`` (None: random), trained on ``split_file`` (None: all)."""
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
    cfg.default_hooks.logger.interval = min(10, iters)
    cfg.randomness = dict(seed=seed)
    return cfg


# Jobs (each in a worker process) ------------------------------------------
def run_job(job: dict) -> dict:
    """Run one planned job in this process; returns its result (also
    written to ``<work_dir>/result.json``)."""
    import torch
    torch.set_num_threads(1)
    start = time.time()
    if job['kind'] == 'flow':
        result = _run_flow(job)
    else:
        result = _run_training(job)
    result.update(
        name=job['name'], seconds=time.time() - start, budget=budget(job))
    with open(osp.join(job['work_dir'], 'result.json'), 'w') as f:
        json.dump(result, f, indent=1)
    return result


def _run_training(job: dict) -> dict:
    from mmdet3d.utils import register_all_modules
    from mmengine.config import Config

    from projects.HilDA.hilda.apis.cli import build_runner
    from projects.HilDA.hilda.checkpoints.export import export_student
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(job['config'])
    cfg.work_dir = job['work_dir']
    cfg.experiment_name = job['name']
    runner = build_runner(cfg)
    runner.train()
    if job['kind'] == 'pretrain':
        for it, path in job['exports'].items():
            export_student(
                osp.join(job['work_dir'], f'iter_{it}.pth'), path, 'minkunet')
        return dict(exports={str(k): v for k, v in job['exports'].items()})
    metrics = runner.val()
    return dict(metrics={k: float(v) for k, v in metrics.items()})


def _run_flow(job: dict) -> dict:
    import torch

    from .scene_flow_probe import (FrozenStudent, SceneFlowProbe,
                                   load_flow_scans)
    log = open(osp.join(job['work_dir'], 'flow.log'), 'a')

    def report(phase: str, done: int, total: int) -> None:
        # mmengine's format, so ChildRunProgress follows it too: scans
        # (features of a training scan, or a held-out scan evaluated) are
        # the unit of progress; the head's steps are shown, not counted.
        if phase == 'train':
            line = f'Iter(head) [{done}/{total}]'
        else:
            scans = done + (len(train) if phase == 'val' else 0)
            line = f'Iter(scans) [{scans}/{len(train) + len(val)}]'
        log.write(line + '\n')
        log.flush()

    train = load_flow_scans(job['data_root'], 'nuscenes_infos_train.pkl',
                            job['train_scans'])
    val = load_flow_scans(job['data_root'], 'nuscenes_infos_val.pkl',
                          job['val_scans'])
    # The seed also draws a random-init student's weights.
    torch.manual_seed(job['seed'])
    student = FrozenStudent(job['checkpoint'])
    probe = SceneFlowProbe(steps=job['steps'], seed=job['seed'])
    metrics = probe.run(student, train, val, report)
    log.close()
    return dict(metrics=metrics)


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


class ProbeTableError(HilDAError, RuntimeError):
    """Missing demo data, or a child run failed (the message names the
    file, or the run and its logs)."""


def job_dir(job: dict, args) -> str:
    kind_dir = 'pretrain' if job['kind'] == 'pretrain' else 'downstream'
    return osp.join(args.work_dir, kind_dir, job['name'])


def job_log(job: dict, args) -> str:
    """Glob of the log a job writes (mmengine's, or the flow probe's)."""
    if job['kind'] == 'flow':
        return osp.join(job_dir(job, args), 'flow.log')
    return osp.join(job_dir(job, args), '*', '*.log')


def prepare(job: dict, args, cache_dir: str, splits: dict) -> dict:
    """Give a planned job its work dir and dumped config."""
    job = dict(job, work_dir=job_dir(job, args))
    os.makedirs(job['work_dir'], exist_ok=True)
    if job['kind'] == 'flow':
        job.update(
            data_root=args.data_root,
            train_scans=args.flow_train_scans,
            val_scans=args.flow_val_scans,
            steps=args.flow_steps)
        return job
    if job['kind'] == 'pretrain':
        interval = min(curve_iters(job['variant'], job['seed'], args))
        cfg = pretrain_config(job['variant'], job['seed'], args, cache_dir,
                              interval)
    else:
        cfg = downstream_config(job['protocol'], job['checkpoint'],
                                splits[(job['share'], job['seed'])],
                                job['seed'], args)
    job['config'] = osp.join(job['work_dir'], job['name'] + '.py')
    cfg.dump(job['config'])
    return job


def budget(job: dict) -> dict:
    """What a job's result depends on besides its name: its iterations,
    and for a flow probe its scans and head steps."""
    keys = ('iters', 'train_scans', 'val_scans', 'steps')
    return {k: job[k] for k in keys if k in job}


def finished(job: dict) -> Optional[dict]:
    """The result of an earlier run of this job, if it completed with the
    same budget; a result of another budget is an error (its name does
    not say the budget, so reusing it would mix budgets silently)."""
    path = osp.join(job['work_dir'], 'result.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        result = json.load(f)
    wanted = budget(job)
    # Results written before budgets were recorded carry none.
    earlier = result.get('budget', wanted)
    if earlier != wanted:
        raise ProbeTableError(
            f'{path}: ran with {earlier}, this run asks for {wanted}; '
            'use another --work-dir (pre-trainings can be shared by a '
            'symlinked pretrain/ folder) or delete that run')
    return result


def run_all(runs: Dict[str, List[dict]], args, cache_dir: str,
            splits: dict) -> Dict[str, dict]:
    """Run the plan, at most ``args.jobs`` side by side; a student's
    downstream runs start as soon as its pre-training is done. One
    progress bar follows every run's log."""
    results = {}
    context = get_context('spawn')
    with ProcessPoolExecutor(
            args.jobs, mp_context=context,
            initializer=_quiet_worker) as pool, ChildRunProgress(
                'probe_table', interval=10) as progress:
        pending = {}
        # The whole plan up front, so that the time left is the plan's.
        for job in runs['pretrain'] + [
                j for js in runs['after'].values() for j in js
        ]:
            progress.add(job['name'], job['iters'], job_log(job, args),
                         'scans' if job['kind'] == 'flow' else 'train')

        def submit(job: dict) -> None:
            job = prepare(job, args, cache_dir, splits)
            earlier = finished(job)
            if earlier is not None:
                progress.done(job['name'])
                done(job, earlier)
                return
            pending[pool.submit(run_job, job)] = job

        def done(job: dict, result: dict) -> None:
            results[job['name']] = result
            if job['kind'] == 'pretrain':
                for follow in runs['after'][job['name']]:
                    submit(follow)

        for job in runs['pretrain']:
            submit(job)
        for student, jobs in runs['after'].items():
            if student not in {j['name'] for j in runs['pretrain']}:
                for job in jobs:  # random init: nothing to wait for
                    submit(job)
        while pending:
            complete, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in complete:
                job = pending.pop(future)
                try:
                    result = future.result()
                except Exception as e:
                    raise ProbeTableError(
                        f'{job["name"]} failed: {type(e).__name__}: {e} '
                        f'(logs: {job["work_dir"]})') from e
                progress.done(job['name'])
                done(job, result)
    return results


# Steps --------------------------------------------------------------------
def ensure_cache(args) -> str:
    """The teacher-feature cache of the demo data, written (when missing)
    with the config of :data:`CACHE_VARIANT`, whose levels include every
    other variant's."""
    cache_dir = osp.join(args.data_root, 'teacher_cache',
                         'effnetlite0_224x392_4levels')
    if osp.isfile(osp.join(cache_dir, 'meta.json')):
        return cache_dir
    print(
        f'[probe_table] caching teacher features into {cache_dir}', flush=True)
    _run_tool(
        'cache_teacher_features.py',
        VARIANTS[CACHE_VARIANT].config,
        '--out-dir',
        cache_dir,
        '--cfg-options',
        f'train_dataloader.dataset.data_root={args.data_root}',
        capture=False)
    return cache_dir


def _run_tool(tool: str, *argv: str, capture: bool = True) -> str:
    """Run ``tools/<tool>``; its stdout, or an error with its output.
    ``capture=False`` leaves its output (and progress bar) on the
    terminal."""
    done = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', tool), *argv],
        capture_output=capture,
        text=True)
    if done.returncode:
        output = done.stderr[-2000:] if capture else '(its output is above)'
        raise ProbeTableError(
            f'tools/{tool} failed (exit {done.returncode}):\n{output}')
    return done.stdout


def label_splits(args) -> Dict[tuple, Optional[str]]:
    """{(share, downstream seed): subset file, None for 100 %}, written by
    ``tools/create_label_efficient_splits.py``."""
    info = osp.join(args.data_root, 'nuscenes_infos_train.pkl')
    partial = [s for s in args.shares if s < 100]
    seeds = sorted(
        {d
         for p in args.pretrain_seeds
         for d in downstream_seeds(p, args)})
    splits = {(100.0, seed): None for seed in seeds}
    for seed in seeds:
        if not partial:
            continue
        out = _run_tool('create_label_efficient_splits.py', info, '--percents',
                        *map(str, partial), '--seed', str(seed), '--out-dir',
                        osp.join(args.work_dir, 'splits'))
        # "<p>%: <n> samples -> <path>", one line per share
        for line, share in zip(out.strip().splitlines(), partial):
            splits[(float(share), seed)] = line.split(' -> ')[-1]
    return splits


# Summary ------------------------------------------------------------------
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


def _cell(stats: tuple, signed: bool = False) -> str:
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
        f'Demo world, held-out scenes. Pre-training {args.pretrain_iters} '
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
            lines.append(f'| {VARIANTS[row].label} | ' +
                         ' | '.join(_cell(cells[c]['stats'])
                                    for c in cols) + ' |')
        lines += [
            '', f'*{title}: paired difference to {VARIANTS[REFERENCE].label}*'
            ' (same pre-training and downstream seeds)', '', header, rule
        ]
        for row, cells in rows.items():
            if row == REFERENCE:
                continue
            lines.append(f'| {VARIANTS[row].label} | ' + ' | '.join(
                _cell(cells[c]['paired'], signed=True) for c in cols) + ' |')
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


def main(argv=None) -> None:
    args = parse_args(argv)
    runs = plan(args)
    totals = plan_summary(runs)
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
    print(text)
    print('[probe_table] measured: ' +
          '; '.join(f'{kind} {c["runs"]} runs, {c["per_iter"]:.2f} s/iteration'
                    for kind, c in costs.items() if c['per_iter']) +
          f'; total {time.time() - start:.0f} s; {args.work_dir}/'
          'probe_table.md, probe_table.png, results.json')
