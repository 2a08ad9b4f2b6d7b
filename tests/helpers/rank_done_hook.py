# Copyright (c) HilDA authors. All rights reserved.
"""A test-only hook: each rank writes a marker when its run ends."""
import os.path as osp

from mmdet3d.registry import HOOKS
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook


@HOOKS.register_module()
class RankDoneHook(Hook):
    """Write ``rank{R}.done`` with the final iteration and the world size."""

    def after_run(self, runner):
        marker = osp.join(runner.work_dir, f'rank{get_rank()}.done')
        with open(marker, 'w') as f:
            f.write(f'{runner.iter} {get_world_size()}\n')
