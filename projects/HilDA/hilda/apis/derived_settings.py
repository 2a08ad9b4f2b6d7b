# Copyright (c) HilDA authors. All rights reserved.
"""Top-level config settings and the copies the base configs made of them.

mmengine evaluates a config file once: ``num_levels=num_levels`` in a base
config copies the value into ``model.student`` when the base is read, so a
child config or ``--cfg-options`` that later changes the top-level
``num_levels`` changes nothing the model reads. For the settings the
README presents as single switches (:data:`DERIVED_SETTINGS`) the tools
therefore, when loading a config,

1. carry a ``--cfg-options`` change of the top-level value into every copy
   that still holds the old value (copies given explicitly on the same
   command line keep theirs), and
2. refuse a config in which a copy differs from the top-level value,
   naming both (e.g. a child config that set only the top-level value).

The model and the pipeline are built from the copies, so after both steps
the top-level value is what they use.
"""
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from ..errors import ConfigError
from ..utils.mmengine_compat import raw_cfg_dict

# One copy of a setting: where it is (a dotted path for the messages),
# the dict holding it and its key, and how the copy derives from the
# top-level value.
Copy = Tuple[str, dict, str, Callable[[Any], Any]]


def _built(path: str) -> bool:
    """Whether a copy is read when building (model, data loaders), not a
    base config's helper variable (``image_aug``, ``pretrain_pipeline``)."""
    return path.split('.', 1)[0] == 'model' or 'dataloader' in path


def _same(value: Any) -> Any:
    return value


def _xyz(value: Any) -> Any:
    """A voxel size: a scalar means the same size along x, y and z."""
    if isinstance(value, (int, float)):
        return [value] * 3
    return value


def _at(cfg: Any, dotted: str) -> Optional[dict]:
    """The dict at ``dotted`` in ``cfg`` (None when a part is missing)."""
    node = cfg
    for part in dotted.split('.'):
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return None
        node = node[part]
    return node


def _typed(cfg: Any, type_name: str, where: str = '') -> Iterator[tuple]:
    """Every dict with ``type == type_name`` under ``cfg`` (pipeline steps
    in all data loaders and dataset wrappers), with its dotted path."""
    if isinstance(cfg, dict):
        if cfg.get('type') == type_name:
            yield where, cfg
        for key, value in cfg.items():
            yield from _typed(value, type_name,
                              f'{where}.{key}' if where else str(key))
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            yield from _typed(value, type_name, f'{where}.{i}')


def _model_copies(cfg: Config, parts: List[Tuple[str, str]],
                  derive: Callable[[Any], Any]) -> List[Copy]:
    copies = []
    for holder, key in parts:
        node = _at(raw_cfg_dict(cfg), holder)
        if node is not None and key in node:
            copies.append((f'{holder}.{key}', node, key, derive))
    return copies


def _step_copies(cfg: Config, type_name: str, key: str,
                 derive: Callable[[Any], Any]) -> List[Copy]:
    return [(f'{where}.{key}', step, key, derive)
            for where, step in _typed(raw_cfg_dict(cfg), type_name)
            if step.get(key) is not None]


def _num_levels(cfg: Config) -> List[Copy]:
    return _model_copies(cfg, [('model.student', 'num_levels'),
                               ('model.teacher', 'num_levels')], _same)


def _voxel_size(cfg: Config) -> List[Copy]:
    return _model_copies(
        cfg, [('model.data_preprocessor.voxel_layer', 'voxel_size')], _xyz)


def _image_size(cfg: Config) -> List[Copy]:
    return (_step_copies(cfg, 'MultiViewImageAug', 'final_size', _same) +
            _step_copies(cfg, 'LoadTeacherFeatures', 'image_size', _same))


def _teacher_cache(cfg: Config) -> List[Copy]:
    return _step_copies(cfg, 'LoadTeacherFeatures', 'cache_dir', _same)


def _bev_grid(key: str) -> Callable[[Config], List[Copy]]:

    def copies(cfg: Config) -> List[Copy]:
        return (_step_copies(cfg, 'BEVOccupancyTarget', key, _same) +
                _model_copies(cfg, [('model.diffusion_head', key)], _same))

    return copies


# Top-level setting (dotted for the keys of bev_grid) -> its copies.
DERIVED_SETTINGS: Dict[str, Callable[[Config], List[Copy]]] = {
    'num_levels': _num_levels,
    'voxel_size': _voxel_size,
    'image_size': _image_size,
    'teacher_cache': _teacher_cache,
    'bev_grid.point_cloud_range': _bev_grid('point_cloud_range'),
    'bev_grid.cell_size': _bev_grid('cell_size'),
    'bev_grid.num_height_bins': _bev_grid('num_height_bins'),
}
_MISSING = object()


def _plain(value: Any) -> Any:
    """Tuples as lists (a config may write either), recursively."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _top_level(cfg: Config, name: str) -> Any:
    node = _at(raw_cfg_dict(cfg), name.rpartition('.')[0]) if '.' in name \
        else raw_cfg_dict(cfg)
    key = name.rpartition('.')[2]
    if node is None or key not in node:
        return _MISSING
    return node[key]


def top_level_values(cfg: Config) -> Dict[str, Any]:
    """The config's derived settings (those it has), as plain values; take
    them before merging ``--cfg-options`` and pass them to
    :func:`sync_derived_settings`."""
    values = {}
    for name in DERIVED_SETTINGS:
        value = _top_level(cfg, name)
        if value is not _MISSING:
            values[name] = _plain(value)
    return values


def _given(path: str, options: Dict[str, Any]) -> bool:
    """Whether a ``--cfg-options`` key sets ``path`` or a dict above it."""
    return any(path == key or path.startswith(key + '.') for key in options)


def sync_derived_settings(cfg: Config, before: Dict[str, Any],
                          options: Dict[str, Any]) -> List[str]:
    """Carry ``--cfg-options`` changes of top-level settings into their
    copies.

    Args:
        cfg (Config): The config after merging ``options``.
        before (dict): :func:`top_level_values` before the merge.
        options (dict): The merged ``--cfg-options``.

    Returns:
        list[str]: ``'<copy> = <value>'`` for every copy changed (also the
        base configs' helper variables, e.g. ``image_aug.final_size``).
    """
    changed = []
    for name, find_copies in DERIVED_SETTINGS.items():
        now = _top_level(cfg, name)
        if name not in before or now is _MISSING or \
                _plain(now) == before[name]:
            continue
        for path, holder, key, derive in find_copies(cfg):
            if _given(path, options) or \
                    _plain(holder[key]) != _plain(derive(before[name])):
                continue  # set on purpose: checked, not overwritten
            holder[key] = derive(now)
            changed.append(f'{path} = {holder[key]!r}')
    return changed


def check_derived_settings(cfg: Config, source: str) -> None:
    """Refuse a config whose copies of a top-level setting differ from it.

    Args:
        cfg (Config): The merged config.
        source (str): The config file, for the message.

    Raises:
        ConfigError: ``'<source>: <copy> = A but the top-level <name> = B
        ...'``.
    """
    for name, find_copies in DERIVED_SETTINGS.items():
        top = _top_level(cfg, name)
        if top is _MISSING:
            continue
        copies = sorted(find_copies(cfg), key=lambda c: not _built(c[0]))
        for path, holder, key, derive in copies:
            if _plain(holder[key]) != _plain(derive(top)):
                raise ConfigError(
                    f'{source}: {path} = {_plain(holder[key])!r} but the '
                    f'top-level {name} = {_plain(top)!r}; the model and '
                    f'pipeline read {path}, so set {name} and {path} '
                    f'together in a config (--cfg-options {name}=... '
                    'updates every copy)')


def apply_derived_settings(cfg: Config, before: Dict[str, Any],
                           options: Dict[str, Any], source: str) -> None:
    """:func:`sync_derived_settings`, logged, then
    :func:`check_derived_settings`."""
    for change in sync_derived_settings(cfg, before, options):
        if not _built(change):
            continue  # helper variables follow too; not worth a line
        print_log(
            f'--cfg-options: {change} (follows the top-level setting)',
            logger='current')
    check_derived_settings(cfg, source)
