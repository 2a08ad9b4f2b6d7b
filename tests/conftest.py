# Copyright (c) HilDA authors. All rights reserved.
import importlib.util
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
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
