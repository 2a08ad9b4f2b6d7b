# Copyright (c) HilDA authors. All rights reserved.
import subprocess
import sys

from mmengine.config import Config

from tests.conftest import REPO_ROOT
from tests.helpers.synthetic_nuscenes import write_sequence
from tests.helpers.tiny_hilda import tiny_model_cfg, tiny_pipeline


def test_benchmark_reports_every_part_and_the_ratio(tmp_path):
    """Runs the benchmark on the tiny model; checks the report's shape,
    not its numbers (timings are not tests)."""
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    cfg = Config(
        dict(
            custom_imports=dict(
                imports=['projects.HilDA.hilda'],
                allow_failed_imports=False),
            model=tiny_model_cfg(),
            train_dataloader=dict(
                batch_size=2,
                dataset=dict(
                    type='HilDANuScenesDataset',
                    data_root=str(tmp_path),
                    ann_file=info,
                    data_prefix=dict(pts='', img=''),
                    pipeline=tiny_pipeline()))))
    path = str(tmp_path / 'tiny.py')
    cfg.dump(path)
    out = subprocess.run([
        sys.executable, f'{REPO_ROOT}/tools/benchmarks/pretrain_speed.py',
        path, '--iters', '1'
    ],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    report = out.stdout
    for part in ('teacher', 'student', 'distillation', 'global_token',
                 'diffusion', 'backward + update', 'plain student step',
                 'HilDA step, cached teacher', 'ratio HilDA / plain student',
                 'ratio with the teacher cache', 'plain step on t0+t-1',
                 'cached, t-1 without gradient', 'ratio cached, no t-1 grad'):
        assert part in report, part
    ratio = float(report.split('ratio HilDA / plain student')[1].split()[0])
    assert ratio > 1.0  # HilDA does strictly more than the plain step
