# Copyright (c) HilDA authors. All rights reserved.
"""The occupancy heads' modes (:class:`DiffusionMode` strategies)."""
from .base_diffusion_mode import DiffusionMode
from .masked_diffusion_mode import MaskedDiffusionMode
from .temporal_diffusion_mode import TemporalDiffusionMode

DIFFUSION_MODES = {
    mode.name: mode
    for mode in (TemporalDiffusionMode, MaskedDiffusionMode)
}
# The paper's mode; the heads' default.
DEFAULT_DIFFUSION_MODE = TemporalDiffusionMode.name


def build_diffusion_mode(name: str) -> DiffusionMode:
    """The mode called ``name`` (a key of :data:`DIFFUSION_MODES`)."""
    if name not in DIFFUSION_MODES:
        raise ValueError(f'mode must be one of {tuple(DIFFUSION_MODES)}, '
                         f'got {name!r}')
    return DIFFUSION_MODES[name]()


__all__ = [
    'DIFFUSION_MODES', 'DEFAULT_DIFFUSION_MODE', 'DiffusionMode',
    'MaskedDiffusionMode', 'TemporalDiffusionMode', 'build_diffusion_mode'
]
