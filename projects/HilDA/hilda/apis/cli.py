# Copyright (c) HilDA authors. All rights reserved.
"""Command-line pieces shared by ``tools/train.py`` and ``tools/test.py``.

The flags and their meaning are mmdet3d's; the difference is that config
and option mistakes end in a one-line :class:`ConfigError` message
(a :class:`~projects.HilDA.hilda.errors.HilDAError`).
"""
import argparse
import errno
import gc
import os
import re
import os.path as osp
import sys
from typing import Callable, Optional

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..errors import HilDAError
from .registry_report import format_registered_hilda_modules


class CheckedDictAction(DictAction):
    """:class:`DictAction` that rejects an item without ``=`` cleanly."""

    def __call__(self, parser, namespace, values, option_string=None):
        for kv in values:
            if '=' not in kv:
                parser.error(f"{option_string} expects KEY=VALUE items, got "
                             f"'{kv}'")
        super().__call__(parser, namespace, values, option_string)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--work-dir``, ``--ceph``, ``--cfg-options``, ``--launcher``."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--ceph', action='store_true', help='Use ceph as data storage backend')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CheckedDictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. '
        'key="[(a,b),(c,d)]" Note that the quotation marks are necessary '
        'and that no white space is allowed. A key that is not in the '
        'config is an error unless only its last part is new.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes `--local-rank` (torch>=2.0) or
    # `--local_rank`; torchrun sets LOCAL_RANK in the environment.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    """Export ``LOCAL_RANK`` for launchers that pass it as a flag."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def apply_common_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply ``--ceph`` and ``--work-dir`` the way mmdet3d's tools do."""
    if args.ceph:
        from mmdet3d.utils import replace_ceph_backend
        cfg = replace_ceph_backend(cfg)
    # work_dir is determined in this priority: CLI > segment in file > name
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


# The work dir of the runner this process built, for disk-full messages.
_WORK_DIR: list = [None]


def build_runner(cfg: Config) -> Runner:
    """Build the default Runner, or ``cfg.runner_type`` from RUNNERS, and log
    which HilDA modules the config's ``custom_imports`` registered."""
    _WORK_DIR[0] = cfg.get('work_dir')
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.logger.info('HilDA modules registered:\n' +
                       format_registered_hilda_modules())
    return runner


# mmengine's build_from_cfg re-raises an error of a constructor as
# "class `Name` in module/path.py: message": a config value the class
# refuses (num_levels=5, a BEV grid the UNet cannot halve, a mistyped
# argument name), or a type missing from a registry.
_BUILD_ERROR = re.compile(r'class `\w+` in \S+\.py: |is not in the \S+ registry')
# A full or read-only disk, a quota: what the user fixes outside HilDA.
_DISK_ERRNOS = {
    errno.ENOSPC: 'no space left on device',
    errno.EDQUOT: 'disk quota exceeded',
    errno.EROFS: 'read-only file system',
    errno.EACCES: 'permission denied',
}


def one_line_error(error: BaseException,
                   work_dir: Optional[str] = None) -> Optional[str]:
    """The one-line message of an error the user fixes, or None.

    Covers :class:`HilDAError` and a missing file, a config value refused
    while the model, dataset or pipeline is built from the config (see
    ``_BUILD_ERROR``; ``HILDA_TRACEBACK=1`` shows the traceback instead)
    and a full, read-only or forbidden disk (naming the file, else the
    work directory).
    """
    if isinstance(error, (HilDAError, FileNotFoundError)):
        return str(error)
    if isinstance(error, OSError) and error.errno in _DISK_ERRNOS:
        where = error.filename or (f'a file under {work_dir}'
                                   if work_dir else 'a file')
        return (f'{_DISK_ERRNOS[error.errno]}: {where} (errno '
                f'{error.errno}); free space or fix the permissions and run '
                'again (files already written are complete; a training '
                'resumes with --resume)')
    if isinstance(error, (ValueError, TypeError, KeyError)) and \
            _BUILD_ERROR.search(str(error)) and \
            not os.environ.get('HILDA_TRACEBACK'):
        message = str(error).strip('"\'').splitlines()
        return (f'config: {message[0] if message else type(error).__name__}'
                ' (HILDA_TRACEBACK=1 shows the traceback)')
    return None


def run_tool(main: Callable[[], None], prog: str) -> None:
    """Run a tool's main; a :class:`~projects.HilDA.hilda.errors.HilDAError`
    (bad config or option, bad input file, pre-trained weights that did not
    load, a checkpoint whose checksum fails, ...), a missing file (e.g. a
    teacher checkpoint named in the config), a config value refused while
    building, or a full or read-only disk exits with one line (see
    :func:`one_line_error`).

    A distributed run that finished ends its process group itself, once
    every rank is done (a barrier) and the run's objects that hold the
    group (the DDP model, in reference cycles) are freed: left to the
    interpreter's exit, gloo's threads are torn down in no set order and a
    rank sometimes aborts ("terminate called without an active exception")
    after all its work is done.
    """
    import torch.distributed as dist

    try:
        main()
    except (HilDAError, OSError, ValueError, TypeError, KeyError) as e:
        message = one_line_error(e, _WORK_DIR[0])
        if message is None:
            raise
        sys.exit(f'{prog}: error: {message}')
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
