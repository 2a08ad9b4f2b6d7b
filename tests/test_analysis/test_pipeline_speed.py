# Copyright (c) HilDA authors. All rights reserved.
from mmdet3d.registry import DATASETS
from mmengine.config import Config

from projects.HilDA.analysis.pipeline_speed import benchmark
from tests.conftest import REPO_ROOT
from tests.helpers.synthetic_nuscenes import write_sequence


def test_benchmark_times_every_step_of_the_config_pipeline(tmp_path):
    """The benchmark runs the config's own pipeline and accounts for each
    transform (numbers are not checked: timings are not tests)."""
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/_base_/datasets/hilda_demo.py')
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = str(tmp_path)
    dataset_cfg.ann_file = info
    dataset_cfg.data_prefix = dict(pts='', img='')
    # The synthetic images are 64x48: crop what fits the ViT patch grid.
    dataset_cfg.pipeline[3]['final_size'] = (42, 56)
    rate, times = benchmark(DATASETS.build(dataset_cfg), 3, warmup=1)
    assert rate > 0
    expected = ['get_data_info'] + [t['type'] for t in dataset_cfg.pipeline]
    assert list(times) == expected
    assert all(seconds > 0 for seconds in times.values())
