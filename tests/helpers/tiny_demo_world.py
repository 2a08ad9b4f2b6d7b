# Copyright (c) HilDA authors. All rights reserved.
"""A tiny demo-world data set shared by the downstream tests.

Two scenes of three keyframes (one train, one val scene), small images and
a 400-step LiDAR (about 10k points a scan); written once per test process
(about a second) into a temporary folder removed at exit.
"""
import atexit
import functools
import os.path as osp
import shutil
import tempfile

from projects.HilDA.demo_world import create_demo_dataset

TINY_DEMO = dict(
    num_scenes=2,
    num_frames=3,
    img_size=(160, 96),
    num_azimuth=400,
    val_scenes=1,
    progress=False)


@functools.lru_cache(maxsize=None)
def tiny_demo_root() -> str:
    """Data root of the tiny demo set (nuScenes layout, infos v1.1)."""
    root = tempfile.mkdtemp(prefix='hilda_tiny_demo_')
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    create_demo_dataset(osp.join(root, 'demo'), **TINY_DEMO)
    return osp.join(root, 'demo')
