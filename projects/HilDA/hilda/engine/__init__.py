# Copyright (c) HilDA authors. All rights reserved.
from .hooks import *  # noqa: F401,F403
from .hooks import __all__  # noqa: F401
