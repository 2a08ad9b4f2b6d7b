# Copyright (c) HilDA authors. All rights reserved.
"""How the probe table's plan runs: the teacher cache and label splits
first (through the tools), then every run as a job of the shared runner
(:func:`..jobs.run_jobs`), each in a worker process with one CPU thread,
a student's downstream runs as soon as its pre-training is done."""
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Dict, List, Optional

from projects.HilDA.hilda.errors import HilDAError
from ..jobs import Job, run_jobs
from .plan import (CACHE_VARIANT, DEFAULT_STUDENT, REPO, STUDENTS, VARIANTS,
                   curve_iters, downstream_config, downstream_seeds,
                   pretrain_config)

SPLIT_LINE = re.compile(r'^([\d.]+)%: \d+ samples -> (.+)$', re.M)


class ProbeTableError(HilDAError, RuntimeError):
    """Missing demo data, or a tool the table needs failed (the message
    names the file, or the tool and its output)."""


# Jobs (each in a worker process) ------------------------------------------
def run_job(job: dict) -> dict:
    """Run one planned job in this process (the target of its
    :class:`..jobs.Job`)."""
    import torch
    torch.set_num_threads(1)
    if job['kind'] == 'flow':
        return _run_flow(job)
    return _run_training(job)


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
                osp.join(job['work_dir'], f'iter_{it}.pth'), path,
                job['target'])
        return dict(exports={str(k): v for k, v in job['exports'].items()})
    metrics = runner.val()
    return dict(metrics={k: float(v) for k, v in metrics.items()})


def _run_flow(job: dict) -> dict:
    import torch

    from ..scene_flow_probe import (FrozenStudent, SceneFlowProbe,
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


def job_dir(job: dict, args) -> str:
    kind_dir = 'pretrain' if job['kind'] == 'pretrain' else 'downstream'
    return osp.join(args.work_dir, kind_dir, job['name'])


def job_log(job: dict, args) -> str:
    """Glob of the log a job writes (mmengine's, or the flow probe's)."""
    if job['kind'] == 'flow':
        return osp.join(job_dir(job, args), 'flow.log')
    return osp.join(job_dir(job, args), '*', '*.log')


def budget(job: dict) -> dict:
    """What a job's result depends on besides its name: its iterations,
    for a flow probe its scans and head steps, and a student other than
    the default (MinkUNet runs carry none, as they did before students
    were an option, so that their work dirs stay reusable)."""
    keys = ('iters', 'train_scans', 'val_scans', 'steps')
    out = {k: job[k] for k in keys if k in job}
    if job.get('student', DEFAULT_STUDENT) != DEFAULT_STUDENT:
        out['student'] = job['student']
    return out


def to_job(job: dict,
           args,
           cache_dir: str,
           splits: dict,
           after: Optional[str] = None) -> Job:
    """A planned run as a job of the runner, with its work dir and dumped
    config."""
    work_dir = job_dir(job, args)
    os.makedirs(work_dir, exist_ok=True)
    job = dict(
        job,
        work_dir=work_dir,
        student=args.student,
        target=STUDENTS[args.student].target)
    if job['kind'] == 'flow':
        job = dict(
            job,
            data_root=args.data_root,
            train_scans=args.flow_train_scans,
            val_scans=args.flow_val_scans,
            steps=args.flow_steps)
    elif job['kind'] == 'pretrain':
        interval = min(curve_iters(job['variant'], job['seed'], args))
        cfg = pretrain_config(job['variant'], job['seed'], args, cache_dir,
                              interval)
    else:
        cfg = downstream_config(job['protocol'], job['checkpoint'],
                                splits[(job['share'], job['seed'])],
                                job['seed'], args)
    if job['kind'] != 'flow':
        job['config'] = osp.join(work_dir, job['name'] + '.py')
        cfg.dump(job['config'])
    return Job(
        name=job['name'],
        target=run_job,
        spec=job,
        iters=job['iters'],
        log=job_log(job, args),
        phase='scans' if job['kind'] == 'flow' else 'train',
        after=after,
        work_dir=work_dir,
        budget=budget(job))


def run_all(runs: Dict[str, List[dict]], args, cache_dir: str,
            splits: dict) -> Dict[str, dict]:
    """Run the plan, at most ``args.jobs`` side by side; a student's
    downstream runs start as soon as its pre-training is done. One
    progress bar follows every run's log."""
    pretrained = {j['name'] for j in runs['pretrain']}
    jobs = [to_job(j, args, cache_dir, splits) for j in runs['pretrain']]
    for student, followers in runs['after'].items():
        after = student if student in pretrained else None
        jobs += [to_job(j, args, cache_dir, splits, after) for j in followers]
    return run_jobs(jobs, 'probe_table', workers=args.jobs, interval=10)


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
        # "<p>%: <n> samples -> <path>", one line per share (the tool may
        # log other lines too)
        written = dict(SPLIT_LINE.findall(out))
        for share in partial:
            if f'{share:g}' not in written:
                raise ProbeTableError(
                    f'tools/create_label_efficient_splits.py wrote no '
                    f'{share:g} % split; its output:\n{out[-2000:]}')
            splits[(float(share), seed)] = written[f'{share:g}']
    return splits
