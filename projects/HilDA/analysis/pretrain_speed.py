# Copyright (c) HilDA authors. All rights reserved.
"""Cost of a HilDA pre-training step, by part, against a plain student step.

On one fixed batch of the config's data set, in one process and one run:

- ``data``: loading and augmenting the batch's samples, collating and the
  data preprocessor (voxelisation, image normalisation);
- the HilDA training step (forward, backward, optimizer update), with the
  forward time of each part measured inside it: ``teacher``, ``student``
  (t0 and t-1 in one pass, plus the point mapping), ``distillation``
  (neck), ``global token``, ``diffusion`` (BEV pooling + UNet), and
  ``backward + update`` as the rest;
- the same HilDA step on cached teacher features (what
  ``tools/cache_teacher_features.py`` + ``LoadTeacherFeatures`` deliver:
  the teacher's maps of this batch, computed once before timing);
- a plain supervised step of the same student on the same t0 scans (a
  linear classifier on the last stage's voxels, cross-entropy on random
  labels, as mmdet3d's MinkUNet segmentor), the reference for the ratios;
- with temporal diffusion: the cached step with ``prev_grad=False`` (the
  student runs on t-1 without gradients), and the same plain step on the
  t0 and t-1 voxels of the HilDA batch: the floor of a HilDA step that
  back-propagates through both scans (L_diffusion conditions on both).

With a second config (``compare``, e.g. the PTv3 student against the
MinkUNet one), its cached HilDA step and its plain student step join the
same rounds, each on a batch of its own config, so that the two students'
step costs are compared in one run (ratios per round, as below).

The variants run in turn, each once per round, after one untimed warm-up
of each, so that a slower spell of a shared machine hits them all alike.
Times are medians over the rounds; each ratio is the median over rounds of
the variant's time over the plain step's time in the same round.
Peak memory per part and per variant, in one more round after the timed
ones: ``torch.cuda.max_memory_allocated`` on GPU; on CPU (Linux) the peak
resident set size, with glibc returning freed tensors to the system and
the heap trimmed before each step (see :func:`rss_follows_live_memory`).

The command line is ``tools/benchmarks/pretrain_speed.py``.
"""
import argparse
import copy
import ctypes
import resource
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Optional, Sequence

import torch
from mmdet3d.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.runner import set_random_seed
from torch import nn
from tqdm import tqdm

from ..hilda.apis import add_cfg_options
from .pipeline_speed import real_frame_overrides

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_trim = None  # glibc's malloc_trim, once rss_follows_live_memory() ran
HILDA = 'HilDA step'
CACHED = 'HilDA step, cached teacher'
NO_PREV_GRAD = 'cached, t-1 without gradient'
PLAIN = 'plain student step'
BOTH = 'plain step on t0+t-1'
COMPARE_CACHED = 'other: HilDA step, cached'
COMPARE_PLAIN = 'other: plain student step'


def step_benchmark_parser(
        description: str,
        batch_size: Optional[int] = None) -> argparse.ArgumentParser:
    """The arguments every training-step benchmark tool takes: a
    pre-training config, batch size, device, AMP and ``--cfg-options``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='a HilDA pre-training config')
    parser.add_argument('--batch-size', type=int, default=batch_size)
    parser.add_argument('--device', default=None, help='cpu or cuda')
    parser.add_argument(
        '--amp', action='store_true', help='autocast (GPU float16)')
    add_cfg_options(parser)
    return parser


PARTS = dict(
    teacher='teacher',
    student='student',
    distillation='distill_head',
    global_token='global_token',
    diffusion='diffusion_head')


def synchronize(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _proc_status_mb(field: str) -> Optional[float]:
    """A ``VmXXX`` line of /proc/self/status in MB (None off Linux)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_memory_mb(device) -> float:
    """GPU: peak allocated since the last reset. CPU: peak resident set
    size since the last reset (Linux; else of the whole process)."""
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = _proc_status_mb('VmHWM')
    if peak is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def reset_peak_memory(device) -> None:
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
        return
    if _trim is not None:  # what earlier steps freed leaves the RSS
        _trim(0)
    try:  # Linux: '5' resets the peak RSS (VmHWM) to the current RSS
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        pass


def rss_follows_live_memory() -> bool:
    """Make freed CPU tensors leave the resident set (glibc): allocations
    of 64 KiB and more get their own mapping, returned on free, and each
    measure starts by trimming the heap, so that a part's peak RSS is not
    hidden by memory an earlier part freed."""
    global _trim
    try:
        libc = ctypes.CDLL('libc.so.6')
        done = bool(libc.mallopt(M_MMAP_THRESHOLD, 64 * 1024))
        _trim = libc.malloc_trim
        _trim(0)  # hand back what is free now
        return done
    except (OSError, AttributeError):
        return False


class PartTimer:
    """Wall time per round and peak memory of measured calls.

    Measures nest (the parts inside a step): before a part resets the
    peak, the peak so far is credited to every measure still open, so each
    keeps the peak of its whole span. Times add up within a round
    (:meth:`new_round`), so that variants timed in the same round can be
    compared round by round.
    """

    def __init__(self, device):
        self.device = device
        self.rounds = [defaultdict(float)]
        self.memory = defaultdict(float)
        self.open = []
        # Wrapped parts are timed only while this is set.
        self.parts_on = False

    def _credit_peak(self):
        peak = peak_memory_mb(self.device)
        for name in self.open:
            self.memory[name] = max(self.memory[name], peak)

    @contextmanager
    def measure(self, name):
        synchronize(self.device)
        self._credit_peak()
        reset_peak_memory(self.device)
        self.open.append(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            synchronize(self.device)
            self.rounds[-1][name] += time.perf_counter() - start
            self._credit_peak()
            self.open.pop()

    def new_round(self) -> None:
        self.rounds.append(defaultdict(float))

    def wrap(self, module: nn.Module, method: str, name: str):
        """Time ``module.<method>`` under ``name`` (forward calls only)."""
        original = getattr(module, method)

        def timed(*args, **kwargs):
            if not self.parts_on:
                return original(*args, **kwargs)
            with self.measure(name):
                return original(*args, **kwargs)

        setattr(module, method, timed)


def build(cfg, device):
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    model.train()
    return dataset, model


def load_batch(dataset, model, batch_size, timer):
    """The timed HilDA batch, and the same samples voxelised without t-1
    for the plain student step."""
    with timer.measure('data'):
        samples = [dataset[i % len(dataset)] for i in range(batch_size)]
        data = model.data_preprocessor(
            pseudo_collate(copy.deepcopy(samples)), True)
    preprocessor = model.data_preprocessor
    voxelize_prev = getattr(preprocessor, 'voxelize_prev', False)
    preprocessor.voxelize_prev = False
    plain = preprocessor(pseudo_collate(samples), True)
    preprocessor.voxelize_prev = voxelize_prev
    return data, plain


def make_optim(params) -> OptimWrapper:
    return OptimWrapper(
        torch.optim.AdamW([p for p in params if p.requires_grad], lr=1e-4))


def hilda_step(model, data, amp, prev_grad=None):
    """One HilDA training step (forward, backward, update) as a closure;
    ``prev_grad`` overrides the model's for this step."""
    optim = make_optim(model.parameters())
    default = model.prev_grad

    def step():
        model.prev_grad = default if prev_grad is None else prev_grad
        with torch.autocast(data_device(data).type, enabled=amp):
            losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)
        model.prev_grad = default

    return step


def time_parts(model, timer):
    """Time each part's forward (``PARTS``) under its name in ``timer``."""
    for name, attr in PARTS.items():
        module = getattr(model, attr)
        if module is not None:
            timer.wrap(module,
                       'forward' if name in ('teacher', 'student') else 'loss',
                       name)
    timer.wrap(model.student, 'point_levels', 'student')


def data_device(data) -> torch.device:
    return data['inputs']['voxels']['coors'].device


def with_cached_teacher(model, data) -> dict:
    """``data`` as the teacher-feature cache delivers it: the teacher's
    maps and CLS of these images in the inputs, the cache's metainfo in
    the samples (computed here once, untimed)."""
    if 'teacher_feats' in data['inputs']:  # the config reads a cache
        return data
    with torch.no_grad():
        feats, cls, size = model.teacher_outputs(data['inputs'],
                                                 data['data_samples'])
    inputs = dict(data['inputs'], teacher_feats=feats, teacher_cls=cls)
    samples = copy.deepcopy(data['data_samples'])
    for sample in samples:
        sample.set_metainfo(
            dict(
                teacher_cache_key=model.teacher.cache_key(),
                teacher_cache_levels=list(model.teacher.out_indices),
                teacher_input_size=size))
    return dict(inputs=inputs, data_samples=samples)


def plain_step(model, data, amp):
    """Supervised student step on the batch's voxels, as mmdet3d's MinkUNet
    segmentor trains (a classifier on the last stage's voxels, cross-entropy
    against ``voxel_semantic_mask``; random labels here): the reference
    cost. On the HilDA batch (t0 and t-1 voxels) it is the floor of a
    HilDA step, the student alone on both scans."""
    student = model.student
    voxels = data['inputs']['voxels']
    device = data_device(data)
    classifier = nn.Linear(student.level_channels[-1], 16).to(device)
    optim = make_optim(
        list(student.parameters()) + list(classifier.parameters()))
    labels = torch.randint(0, 16, (len(voxels['coors']), ), device=device)

    def step():
        with torch.autocast(device.type, enabled=amp):
            out = student(voxels['voxels'], voxels['coors'])
            logits = classifier(out['voxel_feats'])
            loss = nn.functional.cross_entropy(logits.float(), labels)
        optim.update_params(loss)

    return step


def compared_steps(cfg: Config, device, batch_size: int, amp: bool,
                   real_frame: bool) -> dict:
    """The cached HilDA step and the plain student step of a second
    config, on a batch of its own data, named :data:`COMPARE_CACHED` and
    :data:`COMPARE_PLAIN`."""
    if real_frame:
        real_frame_overrides(cfg.train_dataloader.dataset)
    dataset, model = build(cfg, device)
    data, plain_data = load_batch(dataset, model, batch_size,
                                  PartTimer(device))
    return {
        COMPARE_CACHED: hilda_step(model, with_cached_teacher(model, data),
                                   amp),
        COMPARE_PLAIN: plain_step(model, plain_data, amp)
    }


def pretrain_speed(cfg: Config,
                   title: str,
                   iters: int = 3,
                   batch_size: Optional[int] = None,
                   device: Optional[str] = None,
                   amp: bool = False,
                   real_frame: bool = False,
                   compare: Optional[Config] = None,
                   compare_title: str = 'compared config') -> None:
    """Time the variants on one batch of ``cfg``'s data and print the
    report (module docstring); ``title`` heads it (e.g. the config file).
    ``compare``: a second pre-training config whose cached HilDA step and
    plain student step are timed in the same rounds.

    Call ``register_all_modules(init_default_scope=True)`` first, as the
    tool does.
    """
    device = torch.device(
        device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    set_random_seed(0)
    if real_frame:
        real_frame_overrides(cfg.train_dataloader.dataset)
    dataset, model = build(cfg, device)
    batch_size = batch_size or cfg.train_dataloader.batch_size
    timer = PartTimer(device)
    data, plain_data = load_batch(dataset, model, batch_size, timer)
    cached = with_cached_teacher(model, data)
    steps = {
        HILDA: hilda_step(model, data, amp),
        CACHED: hilda_step(model, cached, amp),
        PLAIN: plain_step(model, plain_data, amp),
    }
    temporal = 'prev_point2voxel' in data['inputs']
    if temporal:
        steps[BOTH] = plain_step(model, data, amp)
        steps[NO_PREV_GRAD] = hilda_step(model, cached, amp, prev_grad=False)
    if compare is not None:
        steps.update(
            compared_steps(compare, device, batch_size, amp, real_frame))
    # One untimed warm-up of each (allocator, lazy init, optimizer state),
    # then the variants in turn, so that a slower spell of a shared
    # machine hits them all alike.
    for step in tqdm(steps.values(), desc='warm-up', unit='step'):
        step()
    time_parts(model, timer)
    run_rounds(steps, timer, iters, desc='timed rounds')
    rounds = timer.rounds[-iters:]
    # Memory in a round of its own: on CPU it needs freed tensors to leave
    # the resident set, which slows every allocation (not for the timings).
    if device.type == 'cpu':
        rss_follows_live_memory()
    baseline = (
        torch.cuda.memory_allocated(device) /
        2**20 if device.type == 'cuda' else _proc_status_mb('VmRSS'))
    timer.memory.clear()
    run_rounds(steps, timer, 1, desc='memory round')
    report(timer, rounds, title, amp, device, batch_size, list(steps),
           baseline)
    if compare is not None:
        report_compared(rounds, title, compare_title)


def run_rounds(steps: dict,
               timer: PartTimer,
               rounds: int,
               desc: str = 'rounds') -> None:
    """Each step once per round; the parts of the HilDA step timed.

    A progress bar counts the steps (on a CPU one round takes minutes).
    """
    with tqdm(total=rounds * len(steps), desc=desc, unit='step') as bar:
        for _ in range(rounds):
            timer.new_round()
            for name, step in steps.items():
                bar.set_postfix_str(name)
                timer.parts_on = name == HILDA
                with timer.measure(name):
                    step()
                bar.update()
    timer.parts_on = False


def median_seconds(rounds: Sequence[dict], name: str) -> float:
    """Median seconds of ``name`` over the rounds that measured it."""
    return statistics.median(r[name] for r in rounds if name in r)


def ratio(rounds: Sequence[dict], name: str, base: str = PLAIN) -> float:
    """Median over rounds of ``name``'s time / ``base``'s time (default
    the plain step) in the same round (a slow spell of the machine cancels
    out)."""
    return statistics.median(r[name] / r[base] for r in rounds)


def report_compared(rounds: Sequence[dict], title: str,
                    compare_title: str) -> None:
    """The second config's steps against this config's, same rounds."""
    print(f'\n{compare_title} in the same rounds, median seconds')
    for name, base in ((COMPARE_CACHED, CACHED), (COMPARE_PLAIN, PLAIN)):
        print(f'  {name:<28s} {median_seconds(rounds, name):8.3f} s  '
              f'{ratio(rounds, name, base):6.2f} x {title}\'s')
    print(f'  its cached-step ratio        '
          f'{ratio(rounds, COMPARE_CACHED, COMPARE_PLAIN):8.2f}'
          f'   (its cached HilDA step / its plain student step; '
          f'{title}: {ratio(rounds, CACHED):.2f})')


def report(timer, rounds, title, amp, device, batch_size, names, baseline):
    """Median times over the timed rounds; ratios to the plain step."""

    def peak(name):
        return f'  peak {timer.memory[name]:8.0f} MB'

    per_step = {k: median_seconds(rounds, k) for k in names}
    step = per_step[HILDA]
    forward_parts = {
        k: median_seconds(rounds, k)
        for k in PARTS if any(k in r for r in rounds)
    }
    rest = step - sum(forward_parts.values())
    print(f'\n{title} on {device}, batch {batch_size}, '
          f'{len(rounds)} timed steps{" (AMP)" if amp else ""}, '
          'median seconds')
    print(f'  data (batch + preprocessor)  {timer.rounds[0]["data"]:8.3f} s')
    print(f'  {HILDA:<28s} {step:8.3f} s{peak(HILDA)}')
    for name, seconds in forward_parts.items():
        share = 100 * seconds / step
        print(f'    {name:<26s} {seconds:8.3f} s  {share:5.1f} %{peak(name)}')
    print(f'    {"backward + update":<26s} {rest:8.3f} s  '
          f'{100 * rest / step:5.1f} %')
    for name in names:
        if name != HILDA:
            print(f'  {name:<28s} {per_step[name]:8.3f} s{peak(name)}')
    print(f'  ratio HilDA / plain student  {ratio(rounds, HILDA):8.2f}')
    print(f'  ratio with the teacher cache {ratio(rounds, CACHED):8.2f}')
    if NO_PREV_GRAD in per_step:
        print(f'  ratio cached, no t-1 grad    '
              f'{ratio(rounds, NO_PREV_GRAD):8.2f}'
              '   (prev_grad=False)')
        print(f'  floor: plain step on t0+t-1  {ratio(rounds, BOTH):8.2f}'
              '   (the student alone on both scans)')
    print('  ratios: median over rounds of (variant / plain step) '
          'in the same round')
    what = ('GPU memory allocated'
            if device.type == 'cuda' else 'resident set size (RSS)')
    print(f'  memory: peak {what} while each ran; before the timed steps '
          f'(model, optimizer states, batch): {baseline or 0:.0f} MB')
