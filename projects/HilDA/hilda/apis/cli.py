# Copyright (c) HilDA authors. All rights reserved.
"""Command-line pieces shared by ``tools/train.py`` and ``tools/test.py``.

The flags and their meaning are mmdet3d's; the difference is that config
and option mistakes end in a one-line :class:`ConfigError` message
(a :class:`~projects.HilDA.hilda.errors.HilDAError`).
"""
import argparse
import contextlib
import errno
import gc
import os
import os.path as osp
import sys
from typing import Callable, Optional

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..errors import ConfigError, HilDAError
from .registry_report import format_registered_hilda_modules


class CheckedDictAction(DictAction):
    """:class:`DictAction` that rejects an item without ``=`` cleanly."""

    def __call__(self, parser, namespace, values, option_string=None):
        for kv in values:
            if '=' not in kv:
                parser.error(f"{option_string} expects KEY=VALUE items, got "
                             f"'{kv}'")
        super().__call__(parser, namespace, values, option_string)


def add_cfg_options(parser: argparse.ArgumentParser, **kwargs) -> None:
    """Add ``--cfg-options`` (KEY=VALUE overrides of the config, read by
    :func:`load_config`); ``kwargs`` go to ``add_argument`` (a default)."""
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
        'config is an error unless only its last part is new.',
        **kwargs)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--work-dir``, ``--ceph``, ``--cfg-options``, ``--launcher``."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--ceph', action='store_true', help='Use ceph as data storage backend')
    add_cfg_options(parser)
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
    which HilDA modules the config's ``custom_imports`` registered. A value
    the model refuses is a one-line error (:func:`building_from_config`)."""
    _WORK_DIR[0] = cfg.get('work_dir')
    with building_from_config(cfg.filename or 'config'):
        if 'runner_type' not in cfg:
            runner = Runner.from_cfg(cfg)
        else:
            runner = RUNNERS.build(cfg)
    runner.logger.info('HilDA modules registered:\n' +
                       format_registered_hilda_modules())
    return runner


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

    Covers :class:`HilDAError` (also the config values refused while
    building, see :func:`building_from_config`), a missing file and a full,
    read-only or forbidden disk (naming the file, else the work
    directory).
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
    return None


def _refusing_class(error: BaseException) -> str:
    """``'ClassName: '`` of the innermost constructor in the traceback
    (the object that refused its config values), or ``''``."""
    name = ''
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == '__init__' and 'self' in frame.f_locals:
            name = f"{type(frame.f_locals['self']).__name__}: "
        tb = tb.tb_next
    return name


@contextlib.contextmanager
def building_from_config(source: str):
    """Turn an error raised while objects are built from a config (a value
    a class refuses: ``num_levels=5``, a BEV grid the UNet cannot halve, a
    mistyped argument name, a type missing from a registry) into a one-line
    :class:`ConfigError` naming the config and the class;
    ``HILDA_TRACEBACK=1`` keeps the traceback."""
    try:
        yield
    except (ValueError, TypeError, KeyError, AssertionError) as e:
        if isinstance(e, HilDAError) or os.environ.get('HILDA_TRACEBACK'):
            raise
        # str() of a KeyError quotes its message
        message = str(e.args[0] if isinstance(e, KeyError) and e.args else e
                      ).splitlines()
        raise ConfigError(
            f'{source}: cannot build from the config: {_refusing_class(e)}'
            f'{message[0] if message else type(e).__name__} '
            '(HILDA_TRACEBACK=1 shows the traceback)') from e


def run_tool(main: Callable[[], None], prog: str) -> None:
    """Run a tool's main; a :class:`~projects.HilDA.hilda.errors.HilDAError`
    (bad config or option, bad input file, pre-trained weights that did not
    load, a checkpoint whose checksum fails, a config value refused while
    building, ...), a missing file (e.g. a teacher checkpoint named in the
    config) or a full or read-only disk exits with one line (see
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
    except (HilDAError, OSError) as e:
        message = one_line_error(e, _WORK_DIR[0])
        if message is None:
            raise
        sys.exit(f'{prog}: error: {message}')
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
