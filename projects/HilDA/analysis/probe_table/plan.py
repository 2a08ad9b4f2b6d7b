# Copyright (c) HilDA authors. All rights reserved.
"""What each part of HilDA buys on the demo world: the paper's ablations,
pre-trained from config files, probed downstream, with seeds.

The plan of ``tools/benchmarks/probe_table.py`` (:mod:`.run` runs it,
:mod:`.report` makes the tables). Every variant is a config file
(:data:`VARIANTS`: the demo teacher-cache config and
``configs/hilda/ablations/demo/*``, each stating only its delta), named
after it (the file name's part before the first ``_``: ``hilda`` is full
HilDA, ``hilda-nodiff`` is ``hilda-nodiff_...py``; ``random`` has no
config): that name is the ``--variants`` choice, the key in
``results.json`` and the prefix of the run names. The
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
(:mod:`..scene_flow_probe`, end-point error). Seeds: the ``--seeded``
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

The student is MinkUNet18 (the ablation configs' and the downstream
MinkUNet's); ``--student ptv3`` pre-trains the demo Point Transformer V3
(:data:`STUDENTS`: random init against full HilDA, downstream PTv3 in an
``EncoderDecoder3D``, exported with ``--target ptv3``), in its own work
dir (its runs record the student, so a MinkUNet work dir is not reused).

Runs are resumable: each writes ``result.json`` in its own work dir, and
a re-run with the same work dir and settings reuses them.
"""
import argparse
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, NamedTuple, Optional

from projects.HilDA.hilda.errors import ConfigError

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))
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
RANDOM = 'random'


class Variant(NamedTuple):
    label: str
    config: Optional[str]  # None: no pre-training (random init)


def config_name(path: str) -> str:
    """A config file's short name, e.g. ``hilda-nodiff`` (the part of its
    file name before the first ``_``)."""
    return osp.basename(path).split('_')[0]


def _ablation(name: str) -> str:
    return osp.join(CONFIGS, 'hilda', 'ablations', 'demo', name + SUFFIX)


def _variants(*rows) -> 'OrderedDict[str, Variant]':
    """Rows keyed by their config's name (``random`` without config), so
    that a row cannot have a second name."""
    return OrderedDict(
        (config_name(config) if config else RANDOM, Variant(label, config))
        for label, config in rows)


VARIANTS = _variants(
    ('random init', None),
    ('base: last level (ScaLR-style)', _ablation('hilda-lastlevel')),
    ('+ diffusion', _ablation('hilda-lastlevel-diff')),
    ('+ multi-level', _ablation('hilda-multilevel')),
    ('+ multi-level + CLS (no diffusion)', _ablation('hilda-nodiff')),
    ('+ diffusion + multi-level (no CLS)', _ablation('hilda-nocls')),
    ('HilDA (full)', FULL_CONFIG),
    ('BCE occupancy decoder instead of diffusion',
     _ablation('hilda-occdecoder')),
    ('four levels', _ablation('hilda-4levels')),
    ('last level only (stride 32)', _ablation('hilda-onlylast')),
    ('finest level only (stride 16)', _ablation('hilda-finestonly')),
    ('HilDA, t-1 without gradient', _ablation('hilda-noprevgrad')),
    ('diffusion, epsilon MSE only (lambda = 0)', _ablation('hilda-epsonly')),
    # The weight study (docs/objectives.md): CLS weight with no diffusion,
    # raw and standardised target; diffusion weight with no CLS.
    *((f'no diffusion, CLS weight {w}{std}',
       _ablation(f'hilda-nodiff-cls{tag}{suffix}'))
      for suffix, std in (('', ''), ('-std', ', standardised'))
      for tag, w in (('003', 0.03), ('01', 0.1), ('05', 0.5))),
    *((f'no CLS, diffusion weight {w}', _ablation(f'hilda-nocls-diff{tag}'))
      for tag, w in (('003', 0.03), ('01', 0.1), ('05', 0.5))),
)

WEIGHT_STUDY = tuple(
    v for v in VARIANTS
    if v.startswith(('hilda-nodiff-cls', 'hilda-nocls-diff')))
REFERENCE = config_name(FULL_CONFIG)  # 'hilda'


class Student(NamedTuple):
    """A student architecture the table pre-trains (``--student``): the
    pre-training config of each row it has, the downstream configs of
    each protocol, and the converter's ``--target``."""
    configs: Dict[str, Optional[str]]
    downstream: Dict[str, str]
    target: str


PTV3_CONFIG = osp.join(
    CONFIGS, 'hilda',
    'hilda_ptv3-demo-effnetlite0_1xb2-150iter_demo-teachercache.py')
PTV3_DOWNSTREAM = dict(
    finetune=osp.join(CONFIGS, 'finetune', 'ptv3',
                      'ptv3-demo_1xb2-200iter_demo-lidarseg.py'),
    linear=osp.join(
        CONFIGS, 'finetune', 'ptv3',
        'ptv3-demo_hilda-linear-probe_1xb2-200iter_'
        'demo-lidarseg.py'))
STUDENTS = OrderedDict(
    minkunet=Student({v: VARIANTS[v].config
                      for v in VARIANTS}, DOWNSTREAM_CONFIGS, 'minkunet'),
    # Random init against full HilDA only: the ablation configs are
    # MinkUNet's.
    ptv3=Student({
        RANDOM: None,
        REFERENCE: PTV3_CONFIG
    }, PTV3_DOWNSTREAM, 'ptv3'))
DEFAULT_STUDENT = 'minkunet'

# Settings and follow-up rows rather than the paper's ablations: run on
# request (--variants).
OPTIONAL = ('hilda-noprevgrad', 'hilda-epsonly', *WEIGHT_STUDY)
QUESTIONS = OrderedDict(
    components=('The paper\'s component rows', [
        RANDOM, 'hilda-lastlevel', 'hilda-lastlevel-diff', 'hilda-multilevel',
        'hilda-nodiff', 'hilda-nocls', REFERENCE
    ]),
    diffusion=('Diffusion vs a plain occupancy decoder (BCE, same '
               'capacity) vs none', [
                   REFERENCE, 'hilda-occdecoder', 'hilda-nodiff',
                   'hilda-epsonly'
               ]),
    levels=('Which levels are distilled (CLS and diffusion kept)',
            [REFERENCE, 'hilda-4levels', 'hilda-onlylast',
             'hilda-finestonly']),
    settings=('Project settings', [REFERENCE, 'hilda-noprevgrad']),
    weights=('Loss weights: CLS without diffusion, diffusion without CLS',
             ['hilda-multilevel', *WEIGHT_STUDY, REFERENCE]),
)
# The teacher-feature cache is written with this variant's config: its four
# levels include every other variant's (a cache serves any subset).
CACHE_VARIANT = 'hilda-4levels'
SEEDED = (REFERENCE, 'hilda-lastlevel', 'hilda-nodiff', RANDOM)
CURVE = (REFERENCE, 'hilda-nodiff')
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
        '--student',
        choices=list(STUDENTS),
        default=DEFAULT_STUDENT,
        help='the pre-trained and fine-tuned architecture; ptv3 has the '
        f'rows {" ".join(STUDENTS["ptv3"].configs)} (use its own '
        '--work-dir)')
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO, 'data', 'hilda_demo'),
        help='demo data (tools/create_demo_data.py)')
    parser.add_argument(
        '--variants',
        nargs='+',
        choices=list(VARIANTS),
        help=f'rows to run (default: all the student\'s rows but '
        f'{OPTIONAL}); a question is shown when two of its rows ran')
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
        help='rows pre-trained with every --pretrain-seeds seed (default: '
        f'those of {" ".join(SEEDED)} that the student has); {REFERENCE}, '
        'the reference of the paired differences, always is')
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
        raise ConfigError('at least one pre-training and one downstream '
                          'seed')
    rows = STUDENTS[args.student].configs
    if args.variants is None:
        args.variants = [v for v in rows if v not in OPTIONAL]
    if args.seeded is None:
        args.seeded = [v for v in SEEDED if v in rows]
    missing = [v for v in args.variants + args.seeded if v not in rows]
    if missing:
        raise ConfigError(f'--student {args.student} has no row '
                          f'{" ".join(missing)} (its rows: '
                          f'{" ".join(rows)})')
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
            if STUDENTS[args.student].configs[variant] is not None:
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
    cfg = Config.fromfile(STUDENTS[args.student].configs[variant])
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
    """The student's downstream segmentor (mmdet3d's MinkUNet, or PTv3 in
    an ``EncoderDecoder3D``) on the demo labels, initialised from
    ``checkpoint`` (None: random), trained on ``split_file`` (None: all)."""
    from mmengine.config import Config
    cfg = Config.fromfile(STUDENTS[args.student].downstream[protocol])
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
