# Copyright (c) HilDA authors. All rights reserved.
"""List what the HilDA plugin registered into mmdet3d's registries."""
from typing import Dict, List

from mmdet3d import registry as mmdet3d_registry
from mmengine.registry import Registry

from .config_checks import PLUGIN


def registered_hilda_modules() -> Dict[str, List[str]]:
    """Names registered by this plugin, per mmdet3d registry.

    Returns:
        dict[str, list[str]]: Registry name (e.g. ``'model'``) to the sorted
        names of the HilDA classes and functions registered in it. Registries
        without HilDA entries are left out.
    """
    report = {}
    for value in vars(mmdet3d_registry).values():
        if not isinstance(value, Registry):
            continue
        names = sorted(name for name, obj in value.module_dict.items()
                       if getattr(obj, '__module__', '').startswith(PLUGIN))
        if names:
            report[value.name] = names
    return report


def format_registered_hilda_modules() -> str:
    """One line per registry, e.g. ``model: HilDADataPreprocessor``."""
    report = registered_hilda_modules()
    if not report:
        return 'no HilDA modules are registered'
    return '\n'.join(f'{registry}: {", ".join(names)}'
                     for registry, names in sorted(report.items()))
