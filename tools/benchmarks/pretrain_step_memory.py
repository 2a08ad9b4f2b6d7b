# Copyright (c) HilDA authors. All rights reserved.
"""Peak memory and time of one HilDA training step on the real keyframe.

Builds the pre-training config, points its data set at the one real
nuScenes keyframe in ``../shared/data`` (it has no neighbours, so t-1 and
t+1 fall back to t0), voxelises one batch and runs one training step
(forward, backward, optimizer update) after one untimed warm-up step. On
CPU the peak is the process's peak resident set size (VmHWM) during the
step, reset just before it, with freed tensors returned to the system
(see ``projects/HilDA/analysis/pretrain_speed.py``); on GPU
``torch.cuda.max_memory_allocated``. The full per-part breakdown is
``tools/benchmarks/pretrain_speed.py --real-frame`` (several variants,
several steps each).

Example (paper-scale PTv3, random teacher weights: none can be downloaded):
    python tools/benchmarks/pretrain_step_memory.py \
        configs/hilda/hilda_ptv3-dinov2-vitb14_8xb2-amp-50e_nuscenes.py \
        --cfg-options model.teacher.checkpoint=None
"""
import os.path as osp
import sys
import time

import torch

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet3d.utils import register_all_modules

from projects.HilDA.analysis.pipeline_speed import real_frame_overrides
from projects.HilDA.analysis.pretrain_speed import (PartTimer, _proc_status_mb,
                                                    build, hilda_step,
                                                    load_batch, peak_memory_mb,
                                                    reset_peak_memory,
                                                    rss_follows_live_memory,
                                                    step_benchmark_parser)
from projects.HilDA.hilda.apis import load_config, run_tool


def main():
    parser = step_benchmark_parser(__doc__.splitlines()[0], batch_size=1)
    args = parser.parse_args()

    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.cfg_options)
    device = torch.device(
        args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    real_frame_overrides(cfg.train_dataloader.dataset)
    torch.manual_seed(0)
    dataset, model = build(cfg, device)
    data, _ = load_batch(dataset, model, args.batch_size, PartTimer(device))
    step = hilda_step(model, data, args.amp)
    step()  # warm-up: optimizer state, allocator, lazy initialisation
    if device.type == 'cpu':
        rss_follows_live_memory()
    reset_peak_memory(device)
    before = (
        torch.cuda.memory_allocated(device) /
        2**20 if device.type == 'cuda' else _proc_status_mb('VmRSS'))
    start = time.perf_counter()
    step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    peak = peak_memory_mb(device)
    coors = data['inputs']['voxels']['coors']
    samples = coors[:, 0].long().bincount().tolist()
    student = model.student
    print(f'config: {osp.basename(args.config)}')
    print(f'student: {type(student).__name__}, '
          f'{sum(p.numel() for p in student.parameters()) / 1e6:.1f} M '
          f'parameters; teacher: {type(model.teacher).__name__}')
    print(f'batch {args.batch_size}: voxels per scan (t0 then t-1) '
          f'{samples}; device {device}, {torch.get_num_threads()} threads')
    print(f'one training step (forward, backward, update): {seconds:.1f} s')
    print(f'memory before the step: {before:,.0f} MB; peak during it: '
          f'{peak:,.0f} MB ({peak - before:,.0f} MB above)')


if __name__ == '__main__':
    run_tool(main, 'pretrain_step_memory.py')
