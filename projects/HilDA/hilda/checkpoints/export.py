# Copyright (c) HilDA authors. All rights reserved.
"""Keep only the student of a HilDA checkpoint, renamed for mmdet3d.

Sparse-convolution weights are written in mmcv's spconv-1 layout without
state-dict metadata: mmdet3d's spconv loader turns that layout into
spconv-2 on every loading path (``load_from`` and
``init_cfg=dict(type='Pretrained', prefix=...)``, which drops metadata),
whereas spconv-2 weights without their metadata would fail to load (see
:mod:`.spconv_layout`).

The source is checked before it is read (zip CRC-32, its sidecar when it
has one, a readable ``weights_only`` checkpoint with a student), and the
student's keys must be those of the ``--target`` architecture
(:data:`TARGET_KEY_PATTERNS`): a SparseEncoder student exported for a
MinkUNet segmentor is refused here, not at fine-tuning.

The output is written atomically with a ``<dst>.sha256`` sidecar
(``sha256sum`` format), which :func:`verify_checkpoint` checks on loading;
the same checkpoint exported twice gives the same bytes and hash.
"""
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

from ..errors import HilDAError
from .coverage import checkpoint_state_keys
from .integrity import check_checkpoint_file, torch_save_atomic, write_sidecar
from .spconv_layout import is_sparse_conv_weight, spconv1_weight

# Where the student's weights live in mmdet3d's downstream models.
TARGET_PREFIXES = dict(
    minkunet='backbone.',  # MinkUNet segmentor (MinkUNetBackbone)
    cylinder3d='backbone.',
    centerpoint='pts_middle_encoder.',  # MVXTwoStageDetector/CenterPoint
    second='middle_encoder.',  # VoxelNet (SECOND, PointPillars)
    ptv3='backbone.',  # MinkUNet segmentor with PointTransformerV3
)
STUDENT_PREFIX = 'student.'
# What a student's keys (without ``student.``) must contain to be exported
# for a target: one regular expression per top-level part of that
# architecture, each matched by at least one key.
_MINKUNET_KEYS = (r'conv_input\.', r'encoder\.', r'decoder\.')
_SPARSE_ENCODER_KEYS = (r'conv_input\.', r'encoder_layers\.')
TARGET_KEY_PATTERNS = dict(
    minkunet=_MINKUNET_KEYS,
    cylinder3d=(r'downCntx\.', r'down\d\.', r'up\d\.'),
    centerpoint=_SPARSE_ENCODER_KEYS,
    second=_SPARSE_ENCODER_KEYS,
    ptv3=(r'stem_conv\.', r'enc\.', r'dec\.'),
)


class ExportError(HilDAError, ValueError):
    """A checkpoint that cannot be exported for the requested target."""


def missing_target_parts(student_keys: List[str], target: str) -> List[str]:
    """The patterns of ``target`` that no student key matches."""
    return [
        pattern for pattern in TARGET_KEY_PATTERNS.get(target, ())
        if not any(re.match(pattern, key) for key in student_keys)
    ]


def check_target(student_keys: List[str], target: str, src: str) -> None:
    """Refuse a student whose keys are not those of ``target``.

    Raises:
        ExportError: Naming ``src``, the target, the parts it lacks and
            the targets the keys do fit.
    """
    missing = missing_target_parts(student_keys, target)
    if not missing:
        return
    fits = [
        name for name in sorted(TARGET_KEY_PATTERNS)
        if not missing_target_parts(student_keys, name)
    ]
    first = sorted({key.split('.')[0] for key in student_keys})[:6]
    raise ExportError(
        f'{src}: the student is not a {target} backbone (no key matches '
        f'{", ".join(missing)}; its modules are {", ".join(first)}); it fits '
        f'--target {" or ".join(fits) if fits else "none of the known ones"}')


def student_state_dict(state_dict: Dict[str, torch.Tensor],
                       target: str) -> Tuple[OrderedDict, list]:
    """Select the student's tensors and rename them for ``target``.

    Args:
        state_dict (dict): A HilDA pre-trainer state dict.
        target (str): A key of :data:`TARGET_PREFIXES`.

    Returns:
        tuple[OrderedDict, list[str]]: The renamed student tensors and the
        names of the dropped keys (teacher, heads, diffusion UNet).

    Raises:
        ValueError: Unknown target, or no student key at all.
    """
    if target not in TARGET_PREFIXES:
        raise ValueError(f'unknown target {target}; choose one of '
                         f'{sorted(TARGET_PREFIXES)}')
    prefix = TARGET_PREFIXES[target]
    kept, dropped = OrderedDict(), []
    for key, value in state_dict.items():
        if key.startswith(STUDENT_PREFIX):
            if is_sparse_conv_weight(key, value):
                value = spconv1_weight(value)
            kept[prefix + key[len(STUDENT_PREFIX):]] = value
        else:
            dropped.append(key)
    if not kept:
        raise ValueError(f'no "{STUDENT_PREFIX}*" key among '
                         f'{len(state_dict)} keys: not a HilDA pre-training '
                         'checkpoint')
    return kept, dropped


def export_student(src: str, dst: str, target: str) -> Dict[str, object]:
    """Write ``dst`` with the student of checkpoint ``src`` for ``target``.

    The output is an mmengine-style checkpoint (``state_dict`` + ``meta``)
    that ``load_from`` or ``init_cfg=dict(type='Pretrained', ...)`` reads,
    written atomically, with its SHA-256 in ``<dst>.sha256``.

    Returns:
        dict: ``kept`` and ``dropped`` key counts and the ``sha256`` (hex)
        of ``dst``.

    Raises:
        ValueError: ``dst`` is ``src`` (the export would replace the
            training checkpoint).
        ChecksumError: ``src`` fails its zip CRC or sidecar check.
        ExportError: ``src`` is not a readable checkpoint, holds no
            student, or its student is not a ``target`` backbone.
    """
    if osp.realpath(src) == osp.realpath(dst) or (osp.exists(dst)
                                                  and osp.samefile(src, dst)):
        raise ExportError(
            f'the output {dst} is the input checkpoint itself; exporting '
            'would replace the training checkpoint with the student '
            'weights: choose another output path')
    check_checkpoint_file(src)
    if not zipfile.is_zipfile(src):
        raise ExportError(f'{src}: not a torch checkpoint (no zip archive: '
                          'a text file, or truncated)')
    try:
        checkpoint = torch.load(src, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        raise ExportError(
            f'{src}: refused by weights_only loading (it holds objects '
            f'other than tensors and plain values): {e}') from e
    except (RuntimeError, EOFError, zipfile.BadZipFile) as e:
        raise ExportError(f'{src}: cannot be read ({type(e).__name__}: '
                          f'{e})') from e
    if not isinstance(checkpoint, dict):
        raise ExportError(f'{src}: holds a {type(checkpoint).__name__}, not '
                          'a checkpoint dict')
    state_dict = checkpoint.get('state_dict', checkpoint)
    try:
        kept, dropped = student_state_dict(state_dict, target)
    except ValueError as e:
        raise ExportError(f'{src}: {e}') from e
    check_target([
        key[len(STUDENT_PREFIX):]
        for key in state_dict if key.startswith(STUDENT_PREFIX)
    ], target, src)
    meta = dict(
        hilda_source=str(src),
        target=target,
        kept_keys=len(kept),
        dropped_keys=len(dropped))
    torch_save_atomic(dict(state_dict=kept, meta=meta), dst)
    digest = write_sidecar(dst)
    return dict(kept=len(kept), dropped=len(dropped), sha256=digest)


def check_exported_weights(path: str, target: str) -> None:
    """Check, before any training, that ``path`` holds weights exported
    for ``target`` (what a fine-tuning config's ``init_cfg`` or
    ``load_from`` expects).

    Raises:
        ChecksumError: The file fails its zip CRC or sidecar check.
        ExportError: The file cannot be read, is a pre-training (training)
            checkpoint, or holds no ``target`` backbone.
    """
    check_checkpoint_file(path)
    try:
        keys = checkpoint_state_keys(path)
    except Exception as e:  # text, truncated, unsafe objects
        raise ExportError(f'{path}: cannot be read as a checkpoint '
                          f'({type(e).__name__}: {e})') from e
    export_cmd = ('python tools/model_converters/hilda_to_mmdet3d.py '
                  f'{path} OUT.pth --target {target}')
    if any(key.startswith(STUDENT_PREFIX) for key in keys):
        raise ExportError(
            f'{path} is a HilDA pre-training checkpoint (student.* keys), '
            f'not weights exported for {target}; export it first: '
            f'{export_cmd}')
    prefix = TARGET_PREFIXES[target]
    ours = [key[len(prefix):] for key in keys if key.startswith(prefix)]
    if not ours:
        raise ExportError(
            f'{path}: no "{prefix}*" key among {len(keys)}: not weights '
            f'exported for {target} ({export_cmd})')
    check_target(ours, target, path)
