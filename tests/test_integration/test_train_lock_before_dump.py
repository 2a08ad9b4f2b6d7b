# Copyright (c) HilDA authors. All rights reserved.
"""tools/train.py refuses a work dir held by another run before the Runner
writes anything there (its config dump)."""
import os
import os.path as osp
from types import SimpleNamespace

import pytest

from projects.HilDA.hilda.utils.work_dir_lock import WorkDirLockedError
from tests.conftest import SMOKE_CONFIG, load_tool
from tests.test_utils.test_work_dir_lock import hold_in_child


def test_locked_work_dir_is_refused_before_the_config_dump(
        tmp_path, monkeypatch):
    tool = load_tool('train.py')
    built = []

    def build_runner(cfg):
        built.append(cfg)
        return SimpleNamespace(train=lambda: None)

    monkeypatch.setattr(tool, 'build_runner', build_runner)
    work = tmp_path / 'work'
    child = hold_in_child(work)
    try:
        with pytest.raises(WorkDirLockedError, match=f'pid {child.pid}'):
            tool.main([SMOKE_CONFIG, '--work-dir', str(work)])
    finally:
        child.kill()
        child.wait()
    assert not built
    assert osp.basename(SMOKE_CONFIG) not in os.listdir(work)
    # Once the holder is gone the same command gets as far as the Runner.
    tool.main([SMOKE_CONFIG, '--work-dir', str(work)])
    assert len(built) == 1
