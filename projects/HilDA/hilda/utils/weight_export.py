# Copyright (c) HilDA authors. All rights reserved.
"""Old import path of :mod:`projects.HilDA.hilda.checkpoints.export`, kept
only for ``tools/benchmarks/probe_table.py`` until it imports the new one;
nothing else may use it (tests/test_layering.py lists it as an exception)."""
from ..checkpoints.export import export_student  # noqa: F401
