# Copyright (c) HilDA authors. All rights reserved.
import os
import os.path as osp

import numpy as np
from mmdet3d.registry import DATASETS
from mmengine.config import Config

from tests.conftest import REPO_ROOT, load_tool
from tests.helpers.synthetic_nuscenes import write_sequence


def test_tool_caches_every_sample_and_the_pipeline_reads_it(tmp_path, capsys):
    info, _, _ = write_sequence(str(tmp_path), num_frames=3)
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(
        f"_base_ = ['{REPO_ROOT}/configs/_base_/datasets/hilda_demo.py']\n"
        'train_dataloader = dict(dataset=dict(\n'
        f"    data_root='{tmp_path}', ann_file='{info}',\n"
        "    data_prefix=dict(_delete_=True, pts='', img='')))\n")
    out = str(tmp_path / 'vis')
    tool = load_tool('cache_visibility.py')
    tool.main([str(cfg_file), '--out-dir', out])
    assert len(os.listdir(osp.join(out, 'samples'))) == 3
    tool.main([str(cfg_file), '--out-dir', out])
    assert '0 samples written, 3 already up to date' in capsys.readouterr().out
    # Online and cached pairs of the loading steps plus the projection.
    cfg = Config.fromfile(str(cfg_file)).train_dataloader.dataset
    project = dict(type='ProjectPointsToImages')
    pairs = []
    for step in (project, dict(project, visibility_cache=out)):
        cfg.pipeline = cfg.pipeline[:3] + [step]
        pairs.append(DATASETS.build(cfg)[1]['pair_point_idx'])
    assert len(pairs[0]) > 100
    np.testing.assert_array_equal(pairs[0], pairs[1])
