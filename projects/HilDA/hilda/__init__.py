# Copyright (c) HilDA authors. All rights reserved.
"""HilDA: hierarchical distillation with diffusion for LiDAR pre-training.

Importing this package registers every HilDA module into mmdet3d's
registries (configs do it through ``custom_imports``) and, on machines
without CUDA, lets spconv train on the CPU.
"""
from . import apis, checkpoints, structures  # noqa: F401
from .checkpoints import register_checkpoint_safe_globals
from .datasets import *  # noqa: F401,F403
from .datasets import __all__ as _datasets_all
from .engine import *  # noqa: F401,F403
from .engine import __all__ as _engine_all
from .evaluation import *  # noqa: F401,F403
from .evaluation import __all__ as _evaluation_all
from .models import *  # noqa: F401,F403
from .models import __all__ as _models_all
# Runtime patches are listed in utils/mmengine_compat.py.
from .utils.mmengine_compat import patch_spconv_for_cpu
from .version import __version__

patch_spconv_for_cpu()
register_checkpoint_safe_globals()

__all__ = [
    '__version__', *_datasets_all, *_engine_all, *_evaluation_all, *_models_all
]
