# Copyright (c) HilDA authors. All rights reserved.
"""Compiled (numba) loop of the rigid transforms of whole scans.

:func:`~.projection.transform_xyz` moves every point of a scan (the t-1
and t+1 scans into the t0 frame, the three scans of a sample by the point
augmentation). As numpy passes it reads and writes each coordinate about
ten times and allocates as many temporaries; :func:`affine_rows` does the
same floating point operations, in the same order and dtype, in one pass,
so its results are bit for bit numpy's
(``tests/test_datasets/test_transforms/test_point_kernels.py``). numba
compiles it on a process's first call and caches the machine code
(``cache=True``), as :mod:`.projection_kernels`.
"""
import numba


@numba.njit(cache=True, nogil=True)
def affine_rows(xyz, rot, one, out):
    """``out[i, k] = ((rot[k, 0] x + rot[k, 1] y) + rot[k, 2] z) + rot[k, 3]``
    for every row ``(x, y, z)`` of ``xyz``.

    The products and sums are in the dtype of ``rot`` (the coordinates are
    converted to it first, as numpy's ``astype`` would), the result is
    rounded to the dtype of ``out`` when stored; ``out`` may be ``xyz``
    itself (each row is read before it is written).

    Args:
        xyz (np.ndarray): (N, >=3) float32 or float64, any strides.
        rot (np.ndarray): (3, 4) ``[R t]`` in the dtype to compute in.
        one: 1 in that dtype (a coordinate times it is the coordinate
            converted exactly, the sign of a zero kept).
        out (np.ndarray): (N, >=3) float32 or float64, any strides.
    """
    r00, r01, r02, r03 = rot[0, 0], rot[0, 1], rot[0, 2], rot[0, 3]
    r10, r11, r12, r13 = rot[1, 0], rot[1, 1], rot[1, 2], rot[1, 3]
    r20, r21, r22, r23 = rot[2, 0], rot[2, 1], rot[2, 2], rot[2, 3]
    for i in range(xyz.shape[0]):
        x = xyz[i, 0] * one
        y = xyz[i, 1] * one
        z = xyz[i, 2] * one
        out[i, 0] = r00 * x + r01 * y + r02 * z + r03
        out[i, 1] = r10 * x + r11 * y + r12 * z + r13
        out[i, 2] = r20 * x + r21 * y + r22 * z + r23
