# Copyright (c) HilDA authors. All rights reserved.
"""Library code of the analysis and benchmark tools (``tools/``): not
registered, not imported by ``projects.HilDA.hilda``."""
