# Copyright (c) HilDA authors. All rights reserved.
"""Common behaviour of the frozen image teachers."""
import hashlib
import json
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet3d.utils import OptMultiConfig
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

PRECISIONS = dict(
    auto=None, fp32=None, fp16=torch.float16, bf16=torch.bfloat16)


class BaseImageTeacher(BaseModule):
    """A frozen image model that gives multi-level feature maps and a CLS.

    Subclasses build ``self.encoder``, implement :meth:`_forward` and
    :meth:`_load_checkpoint`, set ``out_channels``, ``cls_channels``,
    ``strides`` and ``patch_size``, and call :meth:`_finish_init` at the end
    of their ``__init__``.

    Frozen means:

    - every parameter has ``requires_grad=False`` and :meth:`forward` runs
      under ``torch.no_grad()``, so the outputs are constants, no gradient
      ever reaches the teacher or its input, and the parameters' ``.grad``
      stays None. mmengine's optimizer constructor either skips them
      (``paramwise_cfg``: it checks ``requires_grad``) or passes them to
      the optimizer, whose step skips parameters without a gradient, so no
      optimizer state (momentum, Adam moments) is ever allocated for them;
    - the module is always in eval mode: ``train(True)`` (what the runner
      calls on the whole model every epoch) is ignored, so BatchNorm
      statistics and dropout never change;
    - the weights are loaded at construction, so the teacher is ready
      without ``init_weights``. The runner calls ``init_weights`` on the
      whole model, and a parent's layer-wise ``init_cfg`` (e.g. Kaiming on
      every Conv2d) would reach the teacher's layers first; the teacher's
      :meth:`init_weights` therefore checks a fingerprint of its weights and
      reloads the checkpoint if anything changed them.

    Coordinates: level ``l`` with stride ``s = strides[l]`` has cell
    ``(i, j)`` covering pixels ``[s*j, s*(j+1)) x [s*i, s*(i+1))`` of the
    (padded) input, so pixel ``(u, v)`` samples the map at
    ``(u / s, v / s)`` in cell units (``grid_sample`` with
    ``align_corners=False`` over a ``w_l * s`` by ``h_l * s`` extent).

    Args:
        mean (Sequence[float]): Per-channel RGB mean on the 0-255 scale the
            inputs were normalised with (used by the data preprocessor).
        std (Sequence[float]): Per-channel RGB std, same scale.
        checkpoint (str, optional): Local checkpoint path.
        precision (str): Compute dtype of the teacher's forward, whatever
            the training precision: ``'auto'`` (default: float16 autocast
            on CUDA, float32 elsewhere), ``'fp32'``, ``'fp16'`` or
            ``'bf16'``. The frozen teacher needs no float32 gradients, and
            its targets are stored in float16 by the teacher-feature cache
            anyway; the maps may then come out in half precision (the
            losses compute in float32).
        init_cfg (dict | list[dict], optional): Only
            ``dict(type='Pretrained', checkpoint=PATH)`` is accepted, as an
            alias of ``checkpoint``; other initialisers make no sense for a
            frozen pretrained model.
    """

    def __init__(self,
                 mean: Sequence[float],
                 std: Sequence[float],
                 checkpoint: Optional[str] = None,
                 precision: str = 'auto',
                 init_cfg: OptMultiConfig = None) -> None:
        checkpoint = self._checkpoint_from_init_cfg(checkpoint, init_cfg)
        # mmengine's own Pretrained init would load the raw (foreign-key)
        # checkpoint after ours; the teacher loads by itself instead.
        super().__init__(init_cfg=None)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f'{type(self).__name__}: mean and std need 3 '
                             f'(RGB) values, got {mean} and {std}')
        if precision not in PRECISIONS:
            raise ValueError(f'{type(self).__name__}: precision must be one '
                             f'of {sorted(PRECISIONS)}, got {precision!r}')
        self.precision = precision
        self.mean: Tuple[float, ...] = tuple(float(m) for m in mean)
        self.std: Tuple[float, ...] = tuple(float(s) for s in std)
        self.checkpoint = checkpoint
        self.out_channels: List[int] = []
        self.cls_channels: int = 0
        self.strides: List[int] = []
        self.patch_size: int = 0
        # kept/missing/unexpected key counts of the checkpoint load.
        self.load_counts: Dict[str, int] = {}
        self._fingerprint: Optional[Tensor] = None
        self._cache_key: Optional[str] = None

    @staticmethod
    def _checkpoint_from_init_cfg(checkpoint: Optional[str],
                                  init_cfg: OptMultiConfig) -> Optional[str]:
        if init_cfg is None:
            return checkpoint
        cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
        for cfg in cfgs:
            if cfg.get('type') != 'Pretrained' or 'checkpoint' not in cfg:
                raise ValueError('a teacher accepts only init_cfg=dict(type='
                                 f"'Pretrained', checkpoint=PATH), got {cfg}")
            if checkpoint is not None and cfg['checkpoint'] != checkpoint:
                raise ValueError(
                    f'two teacher checkpoints given: {checkpoint!r} and '
                    f'init_cfg {cfg["checkpoint"]!r}')
            checkpoint = cfg['checkpoint']
        return checkpoint

    def _finish_init(self) -> None:
        """Load the checkpoint (if any), then freeze. Call last in
        ``__init__``."""
        if self.checkpoint is not None:
            self.load_counts = self._load_checkpoint(self.checkpoint)
            self._fingerprint = self._weights_fingerprint()
        else:
            print_log(
                f'{type(self).__name__} has no checkpoint: its weights are '
                'random (fine for tests, useless for pre-training)',
                logger='current',
                level=logging.WARNING)
        self.requires_grad_(False)
        super().train(False)

    def _load_checkpoint(self, checkpoint: str) -> Dict[str, int]:
        """Load ``checkpoint`` into ``self.encoder``; return the counts."""
        raise NotImplementedError

    def _forward(self, imgs: Tensor) -> Tuple[List[Tensor], Tensor]:
        """Return the feature maps (shallow -> deep) and the CLS."""
        raise NotImplementedError

    def _weights_fingerprint(self) -> Tensor:
        # Sum and absolute sum of every tensor in float64: one cheap pass,
        # and any re-initialisation changes them (the absolute sum also
        # catches zeroing a tensor whose plain sum is near zero).
        return torch.stack([
            torch.stack([t.sum(), t.abs().sum()])
            for t in (v.detach().double()
                      for v in self.encoder.state_dict().values())
        ]).cpu()

    def _weights_changed(self) -> bool:
        # Tolerant comparison: the model may have moved to a GPU since the
        # fingerprint was taken, and its reductions round differently.
        return not torch.allclose(
            self._weights_fingerprint(),
            self._fingerprint,
            rtol=1e-7,
            atol=1e-9)

    def init_weights(self) -> None:
        """Keep the loaded weights; restore them if a parent's init changed
        them (the runner calls this on the whole model)."""
        if self._fingerprint is not None and self._weights_changed():
            print_log(
                f'{type(self).__name__}: weights changed after loading '
                '(a parent init_cfg?); reloading the checkpoint',
                logger='current',
                level=logging.WARNING)
            self._load_checkpoint(self.checkpoint)
            self.requires_grad_(False)
        self._is_init = True

    def cache_key(self) -> str:
        """A short hash of the teacher's type, CLS and weights. A
        teacher-feature cache made by another teacher (or other weights)
        has another key; one made with more levels (``out_indices``) of the
        same teacher serves any subset of them.

        The weights enter as bytes, tensor by tensor in ``state_dict``
        order with their names, dtypes and shapes: any change of any
        weight, also two swapped filters, changes the key, and the same
        weights give the same key on every machine and device.
        """
        digest = hashlib.sha256(
            json.dumps(
                dict(type=type(self).__name__, cls_channels=self.cls_channels),
                sort_keys=True).encode())
        for name, tensor in self.encoder.state_dict().items():
            tensor = tensor.detach().cpu().contiguous()
            digest.update(
                f'{name}:{tensor.dtype}:{tuple(tensor.shape)};'.encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
        return digest.hexdigest()[:16]

    def train(self, mode: bool = True) -> 'BaseImageTeacher':
        """Stay in eval mode whatever ``mode`` is (the teacher is frozen)."""
        return super().train(False)

    def forward(self, imgs: Tensor) -> Dict[str, object]:
        """Run the frozen teacher.

        Args:
            imgs (Tensor): (B*C, 3, H, W) float RGB images, already normalised
                with :attr:`mean` / :attr:`std`.

        Returns:
            dict: ``feats``, a list of (B*C, D_l, h_l, w_l) maps from
            shallow to deep, and ``cls``, a (B*C, D_cls) global descriptor;
            constants (no autograd graph).
        """
        if imgs.dim() != 4 or imgs.shape[1] != 3:
            raise ValueError(f'{type(self).__name__} expects (N, 3, H, W) '
                             f'images, got shape {tuple(imgs.shape)}')
        if not imgs.is_floating_point():
            raise TypeError(f'{type(self).__name__} expects normalised float '
                            f'images, got {imgs.dtype}')
        dtype = self.compute_dtype(imgs.device)
        # no_grad, not inference_mode: the outputs become loss targets,
        # and autograd refuses to save inference tensors for backward.
        with torch.no_grad(), torch.autocast(
                imgs.device.type,
                dtype=dtype or torch.float32,
                enabled=dtype is not None):
            feats, cls = self._forward(imgs)
        return dict(feats=feats, cls=cls)

    def encode_views(self, imgs: Tensor) -> Tuple[List[Tensor], Tensor]:
        """Run the teacher on every camera of a batch.

        Args:
            imgs (Tensor): (B, num_cams, 3, H, W) normalised images.

        Returns:
            tuple: per level (B*num_cams, D_l, h_l, w_l) maps (samples,
            then cameras) and the (B, num_cams, D) CLS tokens, constants.
        """
        batch_size, num_cams = imgs.shape[:2]
        out = self(imgs.flatten(0, 1))
        cls = out['cls'].view(batch_size, num_cams, -1)
        return [f.detach() for f in out['feats']], cls.detach()

    def from_cache(self, feats: List[Tensor],
                   data_samples: list) -> List[Tensor]:
        """This teacher's levels among cached ones (``LoadTeacherFeatures``).

        The cache must come from this very teacher (type, CLS and weights,
        see :meth:`cache_key`) and hold every level in ``out_indices``.

        Args:
            feats (list[Tensor]): Per cached level (B*num_cams, D, h, w).
            data_samples (list): The batch's samples, with the cache's
                ``teacher_cache_key`` / ``teacher_cache_levels`` metainfo.

        Returns:
            list[Tensor]: The maps of this teacher's levels, shallow first.

        Raises:
            ValueError: The cache is another teacher's or lacks a level.
        """
        if self._cache_key is None:
            self._cache_key = self.cache_key()
        keys = {s.metainfo.get('teacher_cache_key') for s in data_samples}
        if keys != {self._cache_key}:
            raise ValueError(
                f'cached teacher features were made by a teacher with key '
                f'{sorted(map(str, keys))}, but this model\'s '
                f'{type(self).__name__} has key {self._cache_key} '
                '(other weights or CLS): re-run '
                'tools/cache_teacher_features.py with this config')
        cached = list(data_samples[0].teacher_cache_levels)
        wanted = list(self.out_indices)
        missing = sorted(set(wanted) - set(cached))
        if missing:
            raise ValueError(
                f'the teacher-feature cache holds levels (out_indices) '
                f'{cached}, the teacher needs {wanted}: re-run '
                'tools/cache_teacher_features.py with this config')
        feats = [feats[cached.index(i)] for i in wanted]
        channels = [f.shape[1] for f in feats]
        if channels != list(self.out_channels):
            raise ValueError(
                f'cached teacher features have channels {channels}, the '
                f'teacher gives {list(self.out_channels)}')
        return feats

    def compute_dtype(self, device: torch.device) -> Optional[torch.dtype]:
        """The autocast dtype of the forward on ``device`` (None: autocast
        off, float32)."""
        if self.precision == 'auto':
            return torch.float16 if device.type == 'cuda' else None
        return PRECISIONS[self.precision]
