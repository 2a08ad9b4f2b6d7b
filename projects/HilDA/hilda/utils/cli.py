# Copyright (c) HilDA authors. All rights reserved.
"""Old import path of :mod:`projects.HilDA.hilda.apis.cli`, kept only for
``tools/benchmarks/probe_table.py`` until it imports the new one; nothing
else may use it (tests/test_layering.py lists it as the one exception)."""
from ..apis.cli import build_runner  # noqa: F401
