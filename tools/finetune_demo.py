# Copyright (c) HilDA authors. All rights reserved.
"""Fine-tune a segmentor on the demo world from HilDA weights and from
scratch with the same budget; print both mIoU on the held-out scenes.

Each run's output goes to a log in its work dir; the terminal shows one
progress bar over both runs (iterations, rate, time left, the running
step's last logged iteration), refreshed every ``--progress-interval``
seconds.

Example (the end of ``make demo``):
    python tools/finetune_demo.py \
        --pretrained work_dirs/demo/hilda_minkunet18-w16_demo.pth \
        --work-dir work_dirs/demo_finetune --iters 200

Both runs use ``tools/train.py`` and ``tools/test.py`` (as a user would),
the same config (``configs/finetune/minkunet18-w16_spconv_1xb2-200iter_
demo-lidarseg.py``, mmdet3d's MinkUNet with the demo student's size), seed,
data order and schedule; the only difference is the backbone's
initialisation (``...-hilda_...`` adds the HilDA ``init_cfg`` and the check
that every backbone tensor was loaded). Evaluation: mmdet3d's ``SegMetric``
on ``nuscenes_infos_val.pkl`` (demo scenes never seen in pre-training or
fine-tuning).
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from projects.HilDA.analysis import jobs  # noqa: E402
from projects.HilDA.hilda.apis import run_tool  # noqa: E402
from projects.HilDA.hilda.checkpoints import \
    check_exported_weights  # noqa: E402
from projects.HilDA.hilda.errors import ConfigError, HilDAError  # noqa: E402

CONFIGS = dict(
    scratch=osp.join(REPO, 'configs', 'finetune',
                     'minkunet18-w16_spconv_1xb2-200iter_demo-lidarseg.py'),
    hilda=osp.join(
        REPO, 'configs', 'finetune',
        'minkunet18-w16_spconv-hilda_1xb2-200iter_demo-lidarseg.py'))
LABELS = dict(scratch='scratch', hilda='HilDA')
CLASSES = ('barrier', 'bicycle', 'bus', 'car', 'motorcycle', 'pedestrian',
           'traffic_cone', 'truck', 'driveable_surface', 'other_flat',
           'sidewalk', 'terrain', 'manmade', 'vegetation')
WARMUP_ITERS = 20


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
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
        default=200,
        help='training iterations of each run (batch 2)')
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO, 'data', 'hilda_demo'),
        help='demo data (tools/create_demo_data.py)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--progress-interval',
        type=float,
        default=10.0,
        help='seconds between progress updates')
    return parser.parse_args(argv)


def schedule_options(iters: int, data_root: str, seed: int) -> list:
    """--cfg-options that give both runs the same budget and data."""
    root = osp.abspath(data_root) + '/'
    return [
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        # evaluation happens once, through tools/test.py
        f'train_cfg.val_begin={iters + 1}',
        f'param_scheduler.0.end={min(WARMUP_ITERS, iters)}',
        f'param_scheduler.1.end={iters}',
        f'param_scheduler.1.T_max={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        # progress: the terminal reads the iterations from the log
        f'default_hooks.logger.interval={min(10, iters)}',
        f'randomness.seed={seed}',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
    ]


def test_metrics(test_dir: str) -> dict:
    """The metrics tools/test.py logged (mmengine's ``<timestamp>.json``)."""
    files = sorted(glob.glob(osp.join(test_dir, '*', '*.json')))
    if not files:
        raise HilDAError(f'no metrics in {test_dir}')
    with open(files[-1]) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    metrics = {}
    for line in lines:
        metrics.update(line)
    return metrics


def finetune_jobs(name: str, args, extra: list) -> list:
    """Train then test one initialisation: two jobs of the shared runner,
    each running a tool (as a user would), the test after the training."""
    work_dir = osp.join(osp.abspath(args.work_dir), name)
    os.makedirs(work_dir, exist_ok=True)
    options = schedule_options(args.iters, args.data_root, args.seed) + extra
    checkpoint = osp.join(work_dir, f'iter_{args.iters}.pth')
    commands = dict(
        train=[
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'), CONFIGS[name], '--work-dir',
            work_dir, '--cfg-options', *options
        ],
        test=[
            sys.executable,
            osp.join(REPO, 'tools', 'test.py'), CONFIGS[name], checkpoint,
            '--work-dir',
            osp.join(work_dir, 'test'), '--cfg-options', *options
        ])
    steps = []
    for step, iters in (('train', args.iters), ('test', 0)):
        log = osp.join(work_dir, f'{step}_stdout.log')
        steps.append(
            jobs.Job(
                name=f'{name} {step}',
                target=jobs.run_command,
                spec=dict(cmd=commands[step], cwd=REPO, log=log),
                iters=iters,
                log=log,
                after=f'{name} train' if step == 'test' else None))
    return steps


def format_table(results: dict, iters: int) -> str:
    header = ['init', 'mIoU', *CLASSES, 'acc', 'train s']
    rows = []
    for name, res in results.items():
        m = res['metrics']
        rows.append([
            LABELS[name], f'{100 * m["miou"]:.1f}',
            *[f'{100 * m[c]:.1f}' for c in CLASSES], f'{100 * m["acc"]:.1f}',
            f'{res["train_s"]:.0f}'
        ])
    widths = [
        max(len(str(r[i])) for r in [header] + rows)
        for i in range(len(header))
    ]

    def line(cells):
        return '| ' + ' | '.join(
            str(c).rjust(w) for c, w in zip(cells, widths)) + ' |'

    sep = '|' + '|'.join('-' * (w + 2) for w in widths) + '|'
    return '\n'.join([
        f'Demo semantic segmentation, MinkUNet18 w16, {iters} iterations '
        'x batch 2, IoU (%) on the held-out demo scenes (SegMetric):',
        line(header), sep, *[line(r) for r in rows]
    ])


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.pretrained):
        raise HilDAError(f'{args.pretrained} does not exist (export it with '
                         'tools/model_converters/hilda_to_mmdet3d.py '
                         '--target minkunet)')
    # Before the from-scratch run, which would otherwise train and test
    # in full before the HilDA run meets a wrong file.
    check_exported_weights(args.pretrained, 'minkunet')
    for split in ('train', 'val'):
        info = osp.join(args.data_root, f'nuscenes_infos_{split}.pkl')
        if not osp.isfile(info):
            raise HilDAError(f'{info} does not exist '
                             '(tools/create_demo_data.py --out-dir DATA_ROOT)')
    if args.iters < 1:
        raise ConfigError('--iters must be >= 1')
    start = time.time()
    pretrained = osp.abspath(args.pretrained)
    print(
        f'[finetune_demo] scratch and HilDA: training {args.iters} '
        'iterations each, then testing (logs in '
        f'{osp.abspath(args.work_dir)}/*/)',
        flush=True)
    plan = finetune_jobs('scratch', args, []) + finetune_jobs(
        'hilda', args, [f'model.backbone.init_cfg.checkpoint={pretrained}'])
    done = jobs.run_jobs(
        plan, 'finetune_demo', workers=1, interval=args.progress_interval)
    results = {}
    for name in CONFIGS:
        work_dir = osp.join(osp.abspath(args.work_dir), name)
        results[name] = dict(
            metrics=test_metrics(osp.join(work_dir, 'test')),
            train_s=done[f'{name} train']['seconds'],
            test_s=done[f'{name} test']['seconds'],
            checkpoint=osp.join(work_dir, f'iter_{args.iters}.pth'))
    table = format_table(results, args.iters)
    print(table)
    delta = 100 * (
        results['hilda']['metrics']['miou'] -
        results['scratch']['metrics']['miou'])
    print(f'HilDA - scratch: {delta:+.1f} mIoU points; total '
          f'{time.time() - start:.0f} s')
    summary = dict(
        iters=args.iters,
        seed=args.seed,
        pretrained=pretrained,
        results={
            k:
            dict(
                miou=v['metrics']['miou'],
                metrics=v['metrics'],
                train_s=v['train_s'],
                test_s=v['test_s'],
                checkpoint=v['checkpoint'])
            for k, v in results.items()
        })
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    run_tool(main, 'finetune_demo.py')
