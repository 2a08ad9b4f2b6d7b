# Copyright (c) HilDA authors. All rights reserved.
"""DINOv2 teacher built on mmpretrain's VisionTransformer."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmdet3d.registry import MODELS
from mmdet3d.utils import OptMultiConfig
from mmengine.logging import print_log
from mmpretrain.models.backbones import VisionTransformer
from torch import Tensor, nn

from .base_teacher import BaseImageTeacher
from .checkpoint_converters import (convert_dinov2_to_mmpretrain,
                                    is_official_dinov2,
                                    load_checked_state_dict,
                                    load_state_dict_file)

# HilDA's short names -> mmpretrain's arch names. mmpretrain has dedicated
# `dinov2-small`/`dinov2-giant` entries; DINOv2-B/L have the plain ViT-B/L
# sizes (this is how mmpretrain's own dinov2 configs spell them).
DINOV2_ARCHS = {
    'dinov2-s': 'dinov2-small',
    'dinov2-small': 'dinov2-small',
    'dinov2-b': 'base',
    'dinov2-base': 'base',
    'dinov2-l': 'large',
    'dinov2-large': 'large',
    'dinov2-g': 'dinov2-giant',
    'dinov2-giant': 'dinov2-giant',
}
DINOV2_PATCH_SIZE = 14
# The official checkpoints' position embeddings are a 37x37 grid (518 px).
DINOV2_IMG_SIZE = 518
# ImageNet statistics, RGB, 0-255 scale: what DINOv2 was trained with
# (mmpretrain's dinov2 configs use the same values).
DINOV2_MEAN = (123.675, 116.28, 103.53)
DINOV2_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class DINOv2Teacher(BaseImageTeacher):
    """Frozen DINOv2 ViT giving its last blocks' patch tokens and CLS.

    The encoder is mmpretrain's :class:`VisionTransformer` with DINOv2's
    settings (patch 14, LayerScale 1e-5, LayerNorm eps 1e-6, final norm,
    bicubic position-embedding interpolation, fused SwiGLU FFN for ViT-g),
    so mmpretrain's converted DINOv2 checkpoints load as they are and the
    official ``dinov2_vit*14_pretrain.pth`` files are converted on the fly.

    The backbone runs once with ``out_type='raw'``: every selected block
    gives its full token sequence, from which the CLS token and the patch
    tokens (reshaped to maps) are read. DINOv2's final LayerNorm is applied
    to every level (``norm_all_levels``), as DINOv2's own
    ``get_intermediate_layers(norm=True)`` does for dense heads; the raw
    residual stream of intermediate blocks has a few huge-magnitude
    channels that would dominate a cosine or L2 target.

    Images whose size is not a multiple of 14 are zero-padded at the bottom
    and right (zero is the mean colour, since inputs are normalised). The
    maps then cover the padded image; pixel coordinates are unchanged by
    this padding, so pixel ``(u, v)`` still falls in cell
    ``(v // 14, u // 14)``.

    Args:
        arch (str | dict): ``'dinov2-s'``, ``'dinov2-b'``, ``'dinov2-l'``,
            ``'dinov2-g'`` (long names such as ``'dinov2-small'`` work
            too), or a dict with ``embed_dims``, ``num_layers``,
            ``num_heads``, ``feedforward_channels`` for a custom size
            (tests). Defaults to 'dinov2-s'.
        num_levels (int): K+1, how many of the last blocks to return; used
            when ``out_indices`` is None. Defaults to 4.
        out_indices (Sequence[int], optional): Explicit block indices
            (negative counts from the end); returned shallow -> deep.
        checkpoint (str, optional): Local checkpoint, mmpretrain format
            (``layers.N.*`` keys, optionally under ``state_dict`` /
            ``backbone.``) or official DINOv2 format (``blocks.N.*``);
            detected automatically. None leaves random weights.
        img_size (int | tuple[int, int]): Size the position embedding is
            kept at; other input sizes interpolate it on the fly. Keep the
            checkpoint's 518 unless all inputs share one size. Defaults to
            518. At other sizes mmpretrain resizes the 37x37 grid by bicubic
            interpolation to the target size, close to but not bit-equal
            with the official hub model (a scale factor with a 0.1 offset);
            at 518 the outputs equal the official model's.
        pad_to_patch (bool): Pad inputs to a multiple of 14; if False such
            inputs raise a ValueError. Defaults to True.
        norm_all_levels (bool): Apply the final LayerNorm to every level;
            if False only the ViT's last block is normalised (raw residual
            stream elsewhere, CLS included). Defaults to True.
        ffn_type (str, optional): ``'origin'`` or ``'swiglu_fused'``; None
            picks ``'swiglu_fused'`` for ViT-g and ``'origin'`` otherwise.
        mean (Sequence[float]): RGB mean, 0-255 scale. Defaults to
            ImageNet's.
        std (Sequence[float]): RGB std, 0-255 scale. Defaults to
            ImageNet's.
        precision (str): Forward compute dtype, see
            :class:`BaseImageTeacher` (default: float16 on CUDA).
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH)``, same as ``checkpoint``.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'dinov2-s',
                 num_levels: int = 4,
                 out_indices: Optional[Sequence[int]] = None,
                 checkpoint: Optional[str] = None,
                 img_size: Union[int, Tuple[int, int]] = DINOV2_IMG_SIZE,
                 pad_to_patch: bool = True,
                 norm_all_levels: bool = True,
                 ffn_type: Optional[str] = None,
                 mean: Sequence[float] = DINOV2_MEAN,
                 std: Sequence[float] = DINOV2_STD,
                 precision: str = 'auto',
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            mean=mean,
            std=std,
            checkpoint=checkpoint,
            precision=precision,
            init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch.lower() not in DINOV2_ARCHS:
                raise ValueError(f'unknown DINOv2 arch {arch!r}; choose '
                                 f'from {sorted(DINOV2_ARCHS)} or a dict')
            arch = DINOV2_ARCHS[arch.lower()]
            if ffn_type is None:
                ffn_type = ('swiglu_fused'
                            if arch == 'dinov2-giant' else 'origin')
        num_layers = (
            arch['num_layers'] if isinstance(arch, dict) else
            VisionTransformer.arch_zoo[arch]['num_layers'])
        self.out_indices = self._resolve_out_indices(num_layers, num_levels,
                                                     out_indices)
        self.num_layers = num_layers
        self.pad_to_patch = pad_to_patch
        self.norm_all_levels = norm_all_levels
        self.encoder = VisionTransformer(
            arch=arch,
            img_size=img_size,
            patch_size=DINOV2_PATCH_SIZE,
            out_indices=list(self.out_indices),
            # 'raw' keeps the CLS token next to the patch tokens, so one
            # pass gives both.
            out_type='raw',
            with_cls_token=True,
            final_norm=True,
            norm_cfg=dict(type='LN', eps=1e-6),
            layer_scale_init_value=1e-5,
            interpolate_mode='bicubic',
            layer_cfgs=dict(ffn_type=ffn_type or 'origin'))
        embed_dims = self.encoder.embed_dims
        self.out_channels = [embed_dims] * len(self.out_indices)
        self.cls_channels = embed_dims
        self.patch_size = DINOV2_PATCH_SIZE
        self.strides = [DINOV2_PATCH_SIZE] * len(self.out_indices)
        if self.checkpoint is None:
            # VisionTransformer leaves these zero until init_weights; a
            # random teacher (tests) gets them now (mmpretrain's std). The
            # encoder's own init_weights is not called: as a top-level module
            # it would log one message per parameter.
            nn.init.trunc_normal_(self.encoder.pos_embed, std=0.02)
            nn.init.trunc_normal_(self.encoder.cls_token, std=0.02)
        self._finish_init()

    @staticmethod
    def _resolve_out_indices(
            num_layers: int, num_levels: int,
            out_indices: Optional[Sequence[int]]) -> Tuple[int, ...]:
        if out_indices is None:
            if not 1 <= num_levels <= num_layers:
                raise ValueError(f'num_levels={num_levels} must be in '
                                 f'[1, {num_layers}] for this arch')
            return tuple(range(num_layers - num_levels, num_layers))
        resolved = []
        for index in out_indices:
            if not -num_layers <= index < num_layers:
                raise ValueError(f'out_indices entry {index} is out of '
                                 f'range for a {num_layers}-block ViT')
            resolved.append(index % num_layers)
        if len(set(resolved)) != len(resolved):
            raise ValueError(f'out_indices {out_indices} has duplicates')
        # VisionTransformer returns blocks in depth order anyway.
        return tuple(sorted(resolved))

    def _load_checkpoint(self, checkpoint: str) -> Dict[str, int]:
        state_dict = load_state_dict_file(checkpoint)
        converted = None
        if is_official_dinov2(state_dict):
            state_dict, converted = convert_dinov2_to_mmpretrain(state_dict)
            print_log(
                f'{checkpoint} is an official DINOv2 checkpoint: '
                f'{converted["renamed"]} keys renamed, '
                f'{converted["unchanged"]} unchanged, {converted["dropped"]} '
                'dropped (mask_token, unused at inference)',
                logger='current')
        # mmpretrain resizes a checkpoint's position embedding to img_size
        # while loading (its load_state_dict pre-hook), so only its width
        # has to match.
        counts = load_checked_state_dict(
            self.encoder, state_dict, checkpoint, resizable=('pos_embed', ))
        if converted is not None:
            counts['dropped'] = converted['dropped']
        return counts

    def pad(self, imgs: Tensor) -> Tensor:
        """Zero-pad (bottom/right) ``imgs`` to a multiple of the patch size.

        Raises:
            ValueError: If padding is needed and ``pad_to_patch`` is False.
        """
        h, w = imgs.shape[-2:]
        pad_h = -h % self.patch_size
        pad_w = -w % self.patch_size
        if not (pad_h or pad_w):
            return imgs
        if not self.pad_to_patch:
            raise ValueError(
                f'DINOv2Teacher: image size {h}x{w} (HxW) is not a '
                f'multiple of the patch size {self.patch_size}; resize/crop '
                f'to e.g. {h + pad_h}x{w + pad_w} or set pad_to_patch=True')
        return F.pad(imgs, (0, pad_w, 0, pad_h))

    def _forward(self, imgs: Tensor) -> Tuple[List[Tensor], Tensor]:
        imgs = self.pad(imgs)
        n = imgs.shape[0]
        h = imgs.shape[-2] // self.patch_size
        w = imgs.shape[-1] // self.patch_size
        tokens = list(self.encoder(imgs))
        last = self.num_layers - 1
        for level, index in enumerate(self.out_indices):
            # The encoder applies its final norm (ln1) after the last block
            # only.
            if index != last and self.norm_all_levels:
                tokens[level] = self.encoder.ln1(tokens[level])
        extra = self.encoder.num_extra_tokens
        feats = [
            t[:, extra:].reshape(n, h, w, -1).permute(0, 3, 1, 2).contiguous()
            for t in tokens
        ]
        return feats, tokens[-1][:, 0]
