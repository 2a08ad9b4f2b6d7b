# Copyright (c) HilDA authors. All rights reserved.
"""Keep only the student of a HilDA checkpoint, renamed for mmdet3d.

Sparse-convolution weights are written in mmcv's spconv-1 layout without
state-dict metadata: mmdet3d's spconv loader turns that layout into
spconv-2 on every loading path (``load_from`` and
``init_cfg=dict(type='Pretrained', prefix=...)``, which drops metadata),
whereas spconv-2 weights without their metadata would fail to load (see
:mod:`.spconv_layout`).

The output is written atomically with a ``<dst>.sha256`` sidecar
(``sha256sum`` format), which :func:`verify_checkpoint` checks on loading;
the same checkpoint exported twice gives the same bytes and hash.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, Tuple

import torch

from .integrity import torch_save_atomic, write_sidecar
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
            training checkpoint), or ``src`` holds no student.
    """
    if osp.realpath(src) == osp.realpath(dst) or (osp.exists(dst)
                                                  and osp.samefile(src, dst)):
        raise ValueError(
            f'the output {dst} is the input checkpoint itself; exporting '
            'would replace the training checkpoint with the student '
            'weights: choose another output path')
    checkpoint = torch.load(src, map_location='cpu', weights_only=True)
    state_dict = checkpoint.get('state_dict', checkpoint)
    kept, dropped = student_state_dict(state_dict, target)
    meta = dict(
        hilda_source=str(src),
        target=target,
        kept_keys=len(kept),
        dropped_keys=len(dropped))
    torch_save_atomic(dict(state_dict=kept, meta=meta), dst)
    digest = write_sidecar(dst)
    return dict(kept=len(kept), dropped=len(dropped), sha256=digest)
