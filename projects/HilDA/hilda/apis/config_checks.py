# Copyright (c) HilDA authors. All rights reserved.
"""Config loading for the command-line tools, with one-line errors.

mmengine reports a missing file, a broken config or a mistyped
``--cfg-options`` key with a deep stack trace, or (for a mistyped key) not
at all: ``merge_from_dict`` silently adds the new key. The tools use
:func:`load_config` instead and turn :class:`ConfigError` into one line.
"""
import difflib
import inspect
import os.path as osp
from typing import Any, Dict, List, Optional

from mmengine.config import Config
from mmengine.logging import print_log

from ..errors import ConfigError
from ..utils.mmengine_compat import raw_cfg_dict
from .derived_settings import apply_derived_settings, top_level_values

PLUGIN = 'projects.HilDA.hilda'
PLUGIN_IMPORT_HINT = (f"custom_imports = dict(imports=['{PLUGIN}'], "
                      'allow_failed_imports=False)')


def _check_option_key(cfg: Config, key: str) -> bool:
    """Check that a dotted ``--cfg-options`` key names a config entry.

    A missing last component is accepted as a new key unless it is close to
    an existing sibling (then it is almost surely a typo); a missing
    intermediate component is always an error, because mmengine would create
    a whole new sub-dict that nothing reads.

    Returns:
        bool: True when the key is new (added, not overridden).
    """
    node: Any = raw_cfg_dict(cfg) if isinstance(cfg, Config) else cfg
    parts = key.split('.')
    for depth, part in enumerate(parts):
        where = '.'.join(parts[:depth + 1])
        is_leaf = depth == len(parts) - 1
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(
                    f"--cfg-options {key}: '{where}' indexes a list of "
                    f'{len(node)} items')
            node = node[int(part)]
        elif isinstance(node, dict):
            if part in node:
                node = node[part]
                continue
            close = difflib.get_close_matches(
                part, [str(k) for k in node.keys()], n=1, cutoff=0.75)
            if is_leaf and not close:
                return True
            hint = (f"; did you mean '{'.'.join(parts[:depth] + close)}'?"
                    if close else '')
            raise ConfigError(
                f"--cfg-options {key}: '{where}' is not in the config{hint}")
        else:
            parent = '.'.join(parts[:depth]) or key
            raise ConfigError(
                f"--cfg-options {key}: '{parent}' is "
                f'{type(node).__name__} ({node!r}), not a dict or list')
    return False


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> List[str]:
    """Validate ``--cfg-options`` keys against a config before merging.

    Args:
        cfg (Config): The loaded config.
        options (dict): Dotted keys to values, as parsed by ``DictAction``.

    Returns:
        list[str]: The keys that add new entries rather than override.

    Raises:
        ConfigError: For a key whose path does not exist or looks mistyped.
    """
    return [key for key in options if _check_option_key(cfg, key)]


def imports_plugin(cfg: Config) -> bool:
    """Whether ``custom_imports`` in the config imports the HilDA plugin."""
    custom = cfg.get('custom_imports') or {}
    imports = custom.get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    return any(m == PLUGIN or m.startswith(PLUGIN + '.') for m in imports)


def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None,
                require_plugin: bool = True) -> Config:
    """Load a config file for a tool, checking what usually goes wrong.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): Parsed ``--cfg-options``; validated by
            :func:`check_cfg_options`, then merged.
        require_plugin (bool): Fail when the config does not import the HilDA
            plugin through ``custom_imports``. Defaults to True.

    Returns:
        Config: The merged config.

    Raises:
        ConfigError: With a one-line reason naming the file or the option,
            also when a copy of a top-level setting differs from it (see
            :mod:`.derived_settings`).
    """
    if not osp.isfile(path):
        raise ConfigError(f'config file {path} does not exist')
    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # any parse/import error, reported in one line
        reason = str(e).strip().splitlines()
        raise ConfigError(f'cannot load config {path}: {type(e).__name__}: '
                          f'{reason[-1] if reason else ""}') from e
    if require_plugin and not imports_plugin(cfg):
        raise ConfigError(f'config {path} does not import the HilDA plugin; '
                          f'add {PLUGIN_IMPORT_HINT}')
    before = top_level_values(cfg)
    if cfg_options:
        for key in check_cfg_options(cfg, cfg_options):
            print_log(
                f'--cfg-options adds the new key {key} to {path}',
                logger='current')
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as e:
            raise ConfigError(f'--cfg-options cannot be merged into {path}: '
                              f'{e}') from e
    # Top-level settings (num_levels, bev_grid, ...) reach what reads them.
    apply_derived_settings(cfg, before, cfg_options or {}, path)
    return cfg


def _train_loop_class(train_cfg: dict):
    """The loop class a ``train_cfg`` builds, as mmengine's Runner picks
    it (``type``, else ``by_epoch``); None when it cannot be told."""
    from mmengine.registry import LOOPS
    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
    loop_type = train_cfg.get('type')
    if loop_type is None:
        by_epoch = train_cfg.get('by_epoch')
        if by_epoch is None:
            return None
        return EpochBasedTrainLoop if by_epoch else IterBasedTrainLoop
    if inspect.isclass(loop_type):
        return loop_type
    try:
        return LOOPS.get(loop_type)
    except Exception:  # unknown scope or type: the Runner will say so
        return None


def check_train_cfg(cfg: Config, path: str) -> None:
    """Check ``train_cfg``'s keys against its loop's arguments, so that
    e.g. ``train_cfg.max_epochs`` on an iteration-based config is one line
    instead of a ``TypeError`` traceback from the loop's constructor, and
    that ``max_iters`` / ``max_epochs`` are positive integers (mmengine
    trains nothing for 0 or -1 and exits 0).

    Raises:
        ConfigError: Naming the key, the loop and the keys it takes.
    """
    train_cfg = cfg.get('train_cfg') or {}
    for key in ('max_iters', 'max_epochs'):
        value = train_cfg.get(key)
        if value is not None and (not isinstance(value, int)
                                  or isinstance(value, bool) or value <= 0):
            raise ConfigError(
                f'{path}: train_cfg.{key} = {value!r}; it must be a '
                'positive integer (the run would train nothing)')
    loop = _train_loop_class(train_cfg)
    if loop is None:
        return
    params = inspect.signature(loop.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    accepted = set(params) - {'self', 'runner', 'dataloader'}
    unknown = sorted(k for k in train_cfg
                     if k not in accepted | {'type', 'by_epoch'})
    if unknown:
        hints = {'max_epochs': 'max_iters', 'max_iters': 'max_epochs'}
        hint = ''.join(f"; use train_cfg.{hints[k]}" for k in unknown
                       if hints.get(k) in accepted)
        raise ConfigError(
            f'{path}: train_cfg.{unknown[0]} is not an argument of '
            f'{loop.__name__} (train_cfg takes '
            f'{", ".join(sorted(accepted))}){hint}')
