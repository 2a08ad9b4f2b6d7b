# Copyright (c) HilDA authors. All rights reserved.
import os
import os.path as osp
import subprocess
import sys

from mmdet3d.registry import DATASETS
from mmengine.config import Config

from projects.HilDA.analysis.pipeline_speed import READ_FILES, benchmark
from tests.conftest import REPO_ROOT
from tests.helpers.synthetic_nuscenes import write_sequence

DEMO_CFG = f'{REPO_ROOT}/configs/_base_/datasets/hilda_demo.py'


def synthetic_dataset_cfg(tmp_path):
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    dataset_cfg = Config.fromfile(DEMO_CFG).train_dataloader.dataset
    dataset_cfg.data_root = str(tmp_path)
    dataset_cfg.ann_file = info
    dataset_cfg.data_prefix = dict(pts='', img='')
    # The synthetic images are 64x48: crop what fits the ViT patch grid.
    dataset_cfg.pipeline[3]['final_size'] = (42, 56)
    return dataset_cfg


def test_benchmark_times_every_step_and_the_file_reads(tmp_path):
    """The benchmark runs the config's own pipeline, accounts for each
    transform and times reading the sample's files (numbers are not
    checked: timings are not tests)."""
    dataset_cfg = synthetic_dataset_cfg(tmp_path)
    cpu = {}
    rate, times = benchmark(
        DATASETS.build(dataset_cfg), 3, warmup=1, cpu_times=cpu)
    assert rate > 0
    expected = ['get_data_info'] + [t['type'] for t in dataset_cfg.pipeline]
    assert list(times) == expected + [READ_FILES]
    assert all(seconds > 0 for seconds in times.values())
    # The same steps in CPU time, each no more than its wall-clock time
    # (one thread) by more than the clocks' resolution.
    assert list(cpu) == list(times)
    # process_time counts every thread (decoding and torch may use all
    # cores), so a step's CPU time is bounded by wall time x cores.
    cores = os.cpu_count() or 1
    assert all(cpu[k] <= times[k] * cores + 0.01 for k in times)
    assert sum(cpu.values()) > 0


def test_cli_applies_cfg_options_and_reports_bad_ones(tmp_path):
    dataset_cfg = synthetic_dataset_cfg(tmp_path)
    options = [
        f'train_dataloader.dataset.data_root={dataset_cfg.data_root}',
        f'train_dataloader.dataset.ann_file={dataset_cfg.ann_file}',
        'train_dataloader.dataset.data_prefix.pts=',
        'image_size=[42,56]',
        'train_dataloader.dataset.pipeline.4.occlusion=None',
    ]
    # The prefixes of the demo config name camera folders: the synthetic
    # files lie side by side, so every prefix is emptied.
    options += [
        f'train_dataloader.dataset.data_prefix.{cam}='
        for cam in ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT',
                    'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')
    ]
    out = run_benchmark(DEMO_CFG, '--num-samples', '2', '--cfg-options',
                        *options)
    assert out.returncode == 0, out.stderr
    assert 'ProjectPointsToImages' in out.stdout
    assert 'pipeline / read' in out.stdout
    assert 'samples per CPU-second' in out.stdout
    bad = run_benchmark(DEMO_CFG, '--cfg-options', 'no_equals_sign')
    assert bad.returncode == 2 and 'KEY=VALUE' in bad.stderr


def run_benchmark(*args):
    """``tools/benchmarks/data_pipeline.py`` as a user runs it."""
    return subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'benchmarks', 'data_pipeline.py'), *args
    ],
                          capture_output=True,
                          text=True,
                          cwd=REPO_ROOT)
