# Copyright (c) HilDA authors. All rights reserved.
import importlib.util
import os.path as osp

import pytest
from mmdet3d.utils import register_all_modules

import projects.HilDA.hilda  # noqa: F401  (registers the plugin)

# Pipelines are built through mmengine's root registries by type name, as
# in a Runner with default_scope='mmdet3d'.
register_all_modules(init_default_scope=True)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = osp.join(REPO_ROOT, '..', 'shared', 'data')
REAL_FRAME_ROOT = osp.join(SHARED_DATA, 'nuscenes_mini_real')
REAL_FRAME_INFO = 'n015-2018-07-24-11-22-45+0800.pkl'
SMOKE_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'smoke',
    'minkunet18-w8_spconv_1xb2-8iter_smoke-semantickitti.py')


def load_tool(relpath):
    """Import a script under tools/ as a module (they are not a package)."""
    path = osp.join(REPO_ROOT, 'tools', relpath)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def smoke_data_root(tmp_path_factory):
    """A tiny SemanticKITTI-format set written by the project's own tool."""
    root = tmp_path_factory.mktemp('smoke_semantickitti')
    load_tool('misc/create_smoke_data.py').create_smoke_data(
        str(root), num_train=4, num_val=2, num_points=2000, seed=0)
    return str(root)


@pytest.fixture
def real_frame_root():
    """The real nuScenes keyframe in ../shared (skip when absent)."""
    if not osp.isfile(osp.join(REAL_FRAME_ROOT, REAL_FRAME_INFO)):
        pytest.skip('../shared/data/nuscenes_mini_real is not available')
    return REAL_FRAME_ROOT
