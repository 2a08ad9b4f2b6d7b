# Copyright (c) HilDA authors. All rights reserved.
"""Distributed set-up that also works on machines without CUDA."""
import os
from datetime import timedelta

import torch
import torch.distributed as dist
from mmengine.config import Config

from ..errors import ConfigError


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` (and the process group) for the given launcher.

    On CUDA machines this only records the launcher; mmengine's Runner does
    the rest. Without CUDA, mmengine's ``init_dist`` would call
    ``torch.cuda.set_device`` and wrap the model with ``device_ids=[rank]``,
    both of which fail; so for ``--launcher pytorch`` (torchrun) the gloo
    process group is created here, and the DDP wrapper is told that the
    model lives on the CPU (``device_ids=None``).

    Args:
        cfg (Config): The config the Runner will be built from; modified.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Raises:
        ConfigError: For ``slurm``/``mpi`` without CUDA.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ConfigError(f'--launcher {launcher} needs CUDA GPUs; on CPU use '
                          'tools/dist_train.sh (torchrun, --launcher pytorch)')
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        timeout = dist_cfg.get('timeout', 1800)
        dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            timeout=timedelta(seconds=timeout))
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
