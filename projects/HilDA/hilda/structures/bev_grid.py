# Copyright (c) HilDA authors. All rights reserved.
"""The one bird's-eye-view grid of the diffusion objective.

The occupancy target (numpy, in the data pipeline) and the BEV pooling of
the student's features (torch, in the model) must put a point in the same
cell, or conditioning and target are shifted against each other. Both take
their cells from :meth:`BEVGrid.cell_index`, which runs the same float
expression on numpy arrays and on torch tensors, so a point on a cell
border lands on the same side in both.

Cell ``(iy, ix)``: ``iy = floor((y - y_min) / cell_size)`` (rows along y),
``ix = floor((x - x_min) / cell_size)`` (columns along x); ``H`` and ``W``
are the range over the cell size, which must be a whole number of cells
(otherwise the last cell would end before or after the range).
"""
from typing import NamedTuple, Sequence, Tuple, Union

import numpy as np
import torch

Array = Union[np.ndarray, torch.Tensor]


class BEVGrid(NamedTuple):
    """A BEV grid: a point-cloud range cut into square cells.

    Attributes:
        point_cloud_range (tuple[float]): [x_min, y_min, z_min, x_max,
            y_max, z_max] in metres.
        cell_size (float): Cell edge in metres.
    """
    point_cloud_range: Tuple[float, ...]
    cell_size: float

    @classmethod
    def build(cls, point_cloud_range: Sequence[float],
              cell_size: float) -> 'BEVGrid':
        """Checked construction from config values."""
        if len(point_cloud_range) != 6:
            raise ValueError('point_cloud_range must have 6 values, got '
                             f'{point_cloud_range}')
        if not cell_size > 0:
            raise ValueError(f'cell_size must be positive, got {cell_size}')
        for axis, low, high in (('x', point_cloud_range[0],
                                 point_cloud_range[3]),
                                ('y', point_cloud_range[1],
                                 point_cloud_range[4])):
            cells = (high - low) / cell_size
            if not cells >= 1 or abs(cells - round(cells)) > 1e-6 * cells:
                raise ValueError(
                    f'the BEV range along {axis}, {low} to {high} '
                    f'({high - low:g} m), is not a whole number of cells of '
                    f'cell_size={cell_size} ({cells:.4g} cells); change '
                    'point_cloud_range or cell_size')
        return cls(
            tuple(float(v) for v in point_cloud_range), float(cell_size))

    @property
    def shape(self) -> Tuple[int, int]:
        """``(H, W)``: rows along y, columns along x."""
        x0, y0, _, x1, y1, _ = self.point_cloud_range
        return (int(round((y1 - y0) / self.cell_size)),
                int(round((x1 - x0) / self.cell_size)))

    def cell_index(self,
                   xyz: Array,
                   check_z: bool = True) -> Tuple[Array, Array, Array]:
        """BEV cell of every point (numpy in, numpy out; torch likewise).

        Args:
            xyz (np.ndarray | Tensor): (N, >=3) point coordinates in metres.
            check_z (bool): Whether points outside [z_min, z_max) count as
                outside. Defaults to True.

        Returns:
            tuple: ``iy`` (N,) and ``ix`` (N,) int64 cell indices
            (meaningful where inside) and ``inside`` (N,) bool.
        """
        x0, y0, z0, x1, y1, z1 = self.point_cloud_range
        height, width = self.shape
        if isinstance(xyz, torch.Tensor):
            ix = torch.floor((xyz[:, 0] - x0) / self.cell_size).long()
            iy = torch.floor((xyz[:, 1] - y0) / self.cell_size).long()
        else:
            ix = np.floor((xyz[:, 0] - x0) / self.cell_size).astype(np.int64)
            iy = np.floor((xyz[:, 1] - y0) / self.cell_size).astype(np.int64)
        inside = (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
        if check_z:
            inside &= (xyz[:, 2] >= z0) & (xyz[:, 2] < z1)
        return iy, ix, inside


def bev_grid_shape(point_cloud_range: Sequence[float],
                   cell_size: float) -> Tuple[int, int]:
    """``BEVGrid(point_cloud_range, cell_size).shape``."""
    return BEVGrid.build(point_cloud_range, cell_size).shape


def bev_cell_index(xyz: Array,
                   point_cloud_range: Sequence[float],
                   cell_size: float,
                   check_z: bool = True) -> Tuple[Array, Array, Array]:
    """``BEVGrid(point_cloud_range, cell_size).cell_index(xyz, check_z)``."""
    return BEVGrid.build(point_cloud_range, cell_size).cell_index(xyz, check_z)
