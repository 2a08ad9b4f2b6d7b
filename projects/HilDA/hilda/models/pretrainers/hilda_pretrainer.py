# Copyright (c) HilDA authors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from mmdet3d.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModel, ImgDataPreprocessor
from torch import Tensor

from ...structures import PointLevels
from ...utils.mmengine_compat import normalizes_images
from ..data_preprocessors import HilDAPretrainDataPreprocessor
from ..heads import voxels_with_points_in
from ..heads.diffusion_modes import (DEFAULT_DIFFUSION_MODE,
                                     build_diffusion_mode)
from ..utils import loss_grad_norms, loss_grad_shares


@MODELS.register_module()
class HilDAPretrainer(BaseModel):
    """HilDA pre-training: the student learns from a frozen image teacher.

    The pre-trainer only orchestrates; every loss is computed (and
    weighted, by its own ``loss_weight``) by a head. One training step:

    1. the data preprocessor has voxelised the t0 and t-1 scans of the
       batch together and batched the point-pixel pairs
       (:class:`HilDAPretrainDataPreprocessor`), so the student runs once
       on both scans (``'masked'`` mode: t0 only, with the voxels of random
       BEV patches removed first);
    2. the teacher (frozen, no gradient) encodes the B x num_cams images,
       or its features come from the teacher-feature cache, checked by the
       teacher (:meth:`BaseImageTeacher.from_cache`);
    3. L_distill: student point features of the last K+1 decoder stages vs
       teacher maps of the last K+1 blocks at the points' pixels
       (:class:`HierarchicalDistillHead`; paper: K = 1, cosine);
    4. L_CLS: the global token of the t0 scan vs the cameras' CLS tokens
       (:class:`GlobalTokenHead`; paper: H_CLS on the last level, max over
       points and over cameras, MSE);
    5. L_diffusion: t-1 and t0 point features pooled in BEV condition the
       occupancy denoiser (:class:`OccupancyDiffusionHead`), which gets the
       last stage's point features, their positions and the occupancy
       target and returns its weighted losses.

    ``L = w_distill * L_distill + w_cls * L_CLS + w_diff * L_diffusion``,
    each ``w`` the ``loss_weight`` of the head's loss; a head whose config
    is None is switched off, which gives the ablations (e.g. last level
    only and nothing else: ScaLR-style). Only ``student`` is kept after
    pre-training (``tools/model_converters/hilda_to_mmdet3d.py``).

    Args:
        student (dict): Student backbone config (e.g.
            ``MultiLevelMinkUNet``); must provide ``point_levels``,
            ``level_channels``, ``bottleneck_channels``.
        teacher (dict): Frozen teacher config (``DINOv2Teacher``,
            ``EfficientNetLiteTeacher``).
        distill_head (dict, optional): ``HierarchicalDistillHead`` config;
            ``student_channels``/``teacher_channels`` are filled in.
        global_token (dict, optional): ``GlobalTokenHead`` config;
            channels are filled in.
        diffusion_head (dict, optional): ``OccupancyDiffusionHead`` config;
            ``in_channels`` is filled in.
        prev_grad (bool): Whether L_diffusion back-propagates into the
            student through the t-1 scan as well as through t0. True
            (default, the method as described): one batched student pass
            over the t0 and t-1 voxels. False: the t-1 scan is context
            only; the student runs on it in a second pass under
            ``no_grad``, which costs about a third of its forward and
            backward and keeps none of its activations (see
            ``tools/benchmarks/pretrain_speed.py``). The t0 gradients are
            the same in both modes, up to BatchNorm's batch statistics
            (each pass normalises with its own).
        data_preprocessor (dict, optional): Usually
            ``HilDAPretrainDataPreprocessor``; its ``voxelize_prev`` is
            set from the diffusion mode (only ``'temporal'`` reads t-1).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 student: ConfigType,
                 teacher: ConfigType,
                 distill_head: OptConfigType = None,
                 global_token: OptConfigType = None,
                 diffusion_head: OptConfigType = None,
                 prev_grad: bool = True,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=self.preprocessor_config(data_preprocessor,
                                                       diffusion_head),
            init_cfg=init_cfg)
        self.student = MODELS.build(student)
        self.teacher = MODELS.build(teacher)
        self._check_normalisation()
        # The frozen teacher stays out of checkpoints (it is rebuilt from
        # its own checkpoint); loading puts its current weights back.
        self._register_state_dict_hook(_drop_teacher_keys)
        self._register_load_state_dict_pre_hook(
            self._restore_teacher_keys, with_module=False)
        self.prev_grad = prev_grad
        # When True, loss() also returns the gradient norm each loss term
        # sends into the student's last stage, and each term's share of the
        # student's parameter gradient (LossGradNormHook).
        self.log_grad_norms = False
        self.log_grad_shares = False

        self.distill_head = None
        if distill_head is not None:
            self._check_levels()
            distill_head = dict(distill_head)
            distill_head.setdefault('student_channels',
                                    list(self.student.level_channels))
            distill_head.setdefault('teacher_channels',
                                    list(self.teacher.out_channels))
            self.distill_head = MODELS.build(distill_head)
        self.global_token = None
        if global_token is not None:
            global_token = dict(global_token)
            bottleneck = global_token.get('feature_level') == 'bottleneck'
            global_token.setdefault(
                'in_channels', self.student.bottleneck_channels
                if bottleneck else self.student.level_channels[-1])
            global_token.setdefault('teacher_channels',
                                    self.teacher.cls_channels)
            self.global_token = MODELS.build(global_token)
        self.diffusion_head = None
        if diffusion_head is not None:
            diffusion_head = dict(diffusion_head)
            diffusion_head.setdefault('in_channels',
                                      self.student.level_channels[-1])
            self.diffusion_head = MODELS.build(diffusion_head)
        if not (self.distill_head or self.global_token or self.diffusion_head):
            raise ValueError('every objective is switched off: configure '
                             'at least one of distill_head, global_token, '
                             'diffusion_head')

    def _restore_teacher_keys(self, state_dict, prefix, *args) -> None:
        for key, value in self.teacher.state_dict().items():
            state_dict.setdefault(f'{prefix}teacher.{key}', value)

    @staticmethod
    def preprocessor_config(data_preprocessor: OptConfigType,
                            diffusion_head: OptConfigType) -> OptConfigType:
        """The data preprocessor's config with the scans the objectives
        read: ``HilDAPretrainDataPreprocessor`` voxelises t-1 only when the
        diffusion mode uses it (no student pass over scans nobody reads).

        Raises:
            ValueError: The config sets ``voxelize_prev`` against the mode.
        """
        if data_preprocessor is None:
            return None
        cls = data_preprocessor.get('type')
        cls = MODELS.get(cls) if isinstance(cls, str) else cls
        if not (isinstance(cls, type)
                and issubclass(cls, HilDAPretrainDataPreprocessor)):
            return data_preprocessor
        uses_prev = diffusion_head is not None and build_diffusion_mode(
            diffusion_head.get('mode', DEFAULT_DIFFUSION_MODE)).uses_prev_scan
        given = data_preprocessor.get('voxelize_prev')
        if given is not None and bool(given) != uses_prev:
            raise ValueError(
                f'data_preprocessor.voxelize_prev={given} contradicts the '
                'objectives: the t-1 scan is read only by '
                "diffusion_head mode='temporal'; leave voxelize_prev out")
        return dict(data_preprocessor, voxelize_prev=uses_prev)

    @property
    def masked_mode(self) -> bool:
        """Whether the diffusion objective hides BEV patches from the
        student (``'masked'`` mode)."""
        return (self.diffusion_head is not None
                and self.diffusion_head.diffusion_mode.masks_input)

    def _check_normalisation(self) -> None:
        """The images must reach the teacher normalised its own way."""
        pre = self.data_preprocessor
        if not (isinstance(pre, ImgDataPreprocessor)
                and normalizes_images(pre)):
            raise ValueError('data_preprocessor must normalise the images '
                             f'with the teacher\'s mean {self.teacher.mean} '
                             f'and std {self.teacher.std}')
        mean = pre.mean.view(-1).tolist()
        std = pre.std.view(-1).tolist()
        if not (torch.allclose(
                torch.tensor(mean), torch.tensor(self.teacher.mean), atol=0.5)
                and torch.allclose(
                    torch.tensor(std),
                    torch.tensor(self.teacher.std),
                    atol=0.5)):
            raise ValueError(
                f'data_preprocessor normalises images with mean {mean} and '
                f'std {std}, but {type(self.teacher).__name__} expects mean '
                f'{list(self.teacher.mean)} and std {list(self.teacher.std)}')

    def _check_levels(self) -> None:
        student_levels = len(self.student.level_channels)
        teacher_levels = len(self.teacher.out_channels)
        if student_levels != teacher_levels:
            raise ValueError(
                f'student {type(self.student).__name__} gives '
                f'{student_levels} levels (num_levels) but teacher '
                f'{type(self.teacher).__name__} gives {teacher_levels}; '
                'set the same K+1 for both')

    def forward(self,
                inputs: dict,
                data_samples: Optional[List[Det3DDataSample]] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], list]:
        """``mode='loss'`` returns the loss dict; ``'tensor'`` the student's
        t0 point features per level (for analysis tools)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_point_feats(inputs, data_samples)
        raise ValueError(f'HilDAPretrainer has no mode {mode!r}: pre-training '
                         "has no predictions ('loss' or 'tensor')")

    # Student --------------------------------------------------------------
    def student_levels(
        self,
        inputs: dict,
        data_samples: list,
        keep_voxel: Optional[Tensor] = None
    ) -> Tuple[dict, PointLevels, List[int]]:
        """Run the student and locate every point in its last K+1 stages.

        The student runs on the t0 and t-1 voxels in one batched pass, or
        (``prev_grad=False``) on t-1 in a second pass without gradients;
        ``keep_voxel`` drops voxels before it runs.

        Returns:
            tuple: the student output (of the t0 voxels only, with
            ``prev_grad=False``), the points' :class:`PointLevels` (t0
            samples first, then t-1; gathered only where a loss needs
            them), and the number of points of each (t0, then t-1) sample.
        """
        voxels = inputs['voxels']
        feats, coors = voxels['voxels'], voxels['coors']
        maps = [s.point2voxel_map for s in data_samples] + list(
            inputs.get('prev_point2voxel', []))
        if keep_voxel is not None:
            feats, coors, maps = drop_voxels(feats, coors, maps, keep_voxel)
        sizes = [len(m) for m in maps]
        batch_size = len(data_samples)
        if self.prev_grad or len(maps) == batch_size:
            out = self.student(feats, coors)
            return out, self.student.point_levels(out, maps), sizes
        # The preprocessor numbers the t-1 samples B..2B-1, after t0.
        is_t0 = coors[:, 0] < batch_size
        out = self.student(feats[is_t0], coors[is_t0])
        prev_coors = coors[~is_t0].clone()
        prev_coors[:, 0] -= batch_size
        with torch.no_grad():
            out_prev = self.student(feats[~is_t0], prev_coors)
        levels = PointLevels.cat([
            self.student.point_levels(out, maps[:batch_size]),
            self.student.point_levels(out_prev, maps[batch_size:])
        ])
        return out, levels, sizes

    def patch_mask(
            self, inputs: dict,
            data_samples: list) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """``'masked'`` mode: the voxels to keep and the hidden BEV cells;
        ``(None, None)`` otherwise. A voxel is dropped when any of its
        points falls in a hidden cell (:func:`voxels_with_points_in`)."""
        if not self.masked_mode:
            return None, None
        batch_size = len(data_samples)
        points = inputs['points'][:batch_size]
        xyz = torch.cat([p[:, :3] for p in points])
        batch = torch.repeat_interleave(
            torch.arange(batch_size, device=xyz.device),
            torch.as_tensor([len(p) for p in points], device=xyz.device))
        keep_point, bev_mask = self.diffusion_head.sample_bev_patch_mask(
            xyz, batch, batch_size)
        maps = [s.point2voxel_map for s in data_samples]
        hit = voxels_with_points_in(~keep_point, maps,
                                    inputs['voxels']['coors'][:, 0])
        return ~hit, bev_mask

    def student_point_features(
        self,
        inputs: dict,
        data_samples: list,
        keep_voxel: Optional[Tensor] = None
    ) -> Tuple[dict, List[Tensor], List[Tensor], List[int]]:
        """Run the student and map its last K+1 stages to the points.

        Returns:
            tuple: the student output, per level (N, C_l) features of all
            points (t0 samples first, then t-1), per level (N,) validity
            masks, and the number of points of each (t0, then t-1) sample.
        """
        out, levels, sizes = self.student_levels(inputs, data_samples,
                                                 keep_voxel)
        feats, valid = levels.gather_all()
        return out, feats, valid, sizes

    def extract_point_feats(self, inputs: dict,
                            data_samples: list) -> List[Tensor]:
        """Student point features per level of the t0 points."""
        _, levels, sizes = self.student_levels(inputs, data_samples)
        t0 = slice(0, sum(sizes[:len(data_samples)]))
        return levels.select(t0).gather_all()[0]

    def diffusion_inputs(self, levels: PointLevels, inputs: dict,
                         sizes: Sequence[int],
                         batch_size: int) -> Dict[str, Tensor]:
        """Keyword arguments of ``diffusion_head.loss``/``sample``: the last
        stage's features, coordinates and sample indices of the valid t0
        (and, in ``'temporal'`` mode, t-1) points."""
        valid = levels.valid(-1)
        device = valid.device
        batch = torch.repeat_interleave(
            torch.arange(len(sizes), device=device) % batch_size,
            torch.as_tensor(sizes, device=device))
        xyz = torch.cat([p[:, :3] for p in inputs['points']] +
                        [p[:, :3] for p in inputs.get('points_prev') or []])
        is_t0 = torch.arange(
            len(valid), device=device) < sum(sizes[:batch_size])
        t0 = valid & is_t0
        kwargs = dict(
            feats_t0=levels.gather(-1, t0), xyz_t0=xyz[t0], batch_t0=batch[t0])
        if not self.diffusion_head.diffusion_mode.uses_prev_scan:
            return dict(
                kwargs, feats_prev=None, xyz_prev=None, batch_prev=None)
        prev = valid & ~is_t0
        kwargs.update(
            feats_prev=levels.gather(-1, prev),
            xyz_prev=xyz[prev],
            batch_prev=batch[prev])
        return kwargs

    # Losses ---------------------------------------------------------------
    def loss(self, inputs: dict,
             data_samples: List[Det3DDataSample]) -> Dict[str, Tensor]:
        """The heads' weighted losses of one batch."""
        batch_size = len(data_samples)
        keep_voxel, bev_mask = self.patch_mask(inputs, data_samples)
        out, levels, sizes = self.student_levels(inputs, data_samples,
                                                 keep_voxel)
        t0_levels = levels.select(slice(0, sum(sizes[:batch_size])))
        losses = {}

        if self.distill_head is not None or self.global_token is not None:
            teacher_feats, teacher_cls, image_size = self.teacher_outputs(
                inputs, data_samples)
        if self.distill_head is not None:
            losses.update(
                self.distill_head.loss(
                    t0_levels,
                    teacher_feats,
                    image_size=image_size,
                    feature_strides=self.teacher.strides,
                    **self.distill_pairs(inputs, t0_levels)))
        if self.global_token is not None:
            losses.update(
                self.global_token.loss(
                    *self.global_token_inputs(out, t0_levels,
                                              sizes[:batch_size]),
                    teacher_cls))
        if self.diffusion_head is not None:
            target = torch.stack([s.occ_target for s in data_samples])
            losses.update(
                self.diffusion_head.loss(
                    occ_target=target,
                    bev_mask=bev_mask,
                    data_samples=data_samples,
                    **self.diffusion_inputs(levels, inputs, sizes,
                                            batch_size)))
        # Set by LossGradNormHook on logging iterations only.
        if self.log_grad_norms:
            losses.update(loss_grad_norms(losses, levels.feats[-1]))
        if self.log_grad_shares:
            losses.update(loss_grad_shares(losses, self.grad_share_groups()))
        return losses

    def grad_share_groups(self) -> Dict[str, List[Tensor]]:
        """The parameter groups of ``gradshare_<group>_<term>``: ``last``
        (the student's ``last_stage``, when it names one) and ``student``
        (all its parameters)."""
        groups = {}
        last_stage = getattr(type(self.student), 'last_stage', None)
        if last_stage is not None:
            groups['last'] = list(self.student.last_stage.parameters())
        groups['student'] = list(self.student.parameters())
        return groups

    def teacher_outputs(
            self, inputs: dict, data_samples: list
    ) -> Tuple[List[Tensor], Tensor, Tuple[int, int]]:
        """Teacher maps of all B*num_cams images (samples, then cameras),
        the cameras' CLS tokens (B, num_cams, D) and the teacher's input
        size (H, W): from the teacher-feature cache when the pipeline loaded
        it (``LoadTeacherFeatures``), else by running the teacher."""
        if 'teacher_feats' not in inputs:
            imgs = inputs['imgs']
            feats, cls = self.teacher.encode_views(imgs)
            return feats, cls, tuple(imgs.shape[-2:])
        feats = self.teacher.from_cache(inputs['teacher_feats'], data_samples)
        return (feats, inputs['teacher_cls'],
                tuple(data_samples[0].teacher_input_size))

    @staticmethod
    def distill_pairs(inputs: dict,
                      levels: PointLevels) -> Dict[str, Optional[Tensor]]:
        """The batch's point-pixel pairs (``inputs['pairs']``, made by the
        data preprocessor) whose t0 point has a last-stage feature: points
        masked or dropped before the student take no part."""
        if 'pairs' not in inputs:
            raise ValueError(
                'distill_head needs point-pixel pairs: the pipeline must '
                'run ProjectPointsToImages and the data preprocessor must '
                'be HilDAPretrainDataPreprocessor')
        pairs = inputs['pairs']
        keep = levels.valid(-1)[pairs['point_idx']]
        return {k: None if v is None else v[keep] for k, v in pairs.items()}

    def global_token_inputs(self, out: dict, levels: PointLevels,
                            sizes: Sequence[int]) -> Tuple[Tensor, Tensor]:
        """(M, C) features and (M,) sample indices the global token pools.

        ``feature_level='last'``: each last-level voxel that holds a t0
        point, once (its points share its feature, so pooling the voxels'
        H_CLS outputs by max is pooling the points'); ``'bottleneck'``:
        the t0 voxels of the student's bottleneck.
        """
        batch_size = len(sizes)
        if self.global_token.feature_level == 'bottleneck':
            bottleneck = out['bottleneck']
            batch = bottleneck['coors'][:, 0].long()
            is_t0 = batch < batch_size
            return bottleneck['feats'][is_t0], batch[is_t0]
        index = levels.index[-1]
        batch = torch.repeat_interleave(
            torch.arange(batch_size, device=index.device),
            torch.as_tensor(sizes, device=index.device))
        valid = index >= 0
        rows, inverse = torch.unique(index[valid], return_inverse=True)
        row_batch = batch.new_zeros(len(rows)).scatter_(
            0, inverse, batch[valid])
        return levels.feats[-1].index_select(0, rows), row_batch


def _drop_teacher_keys(module, state_dict, prefix, local_metadata):
    """State-dict hook: remove the frozen teacher's tensors."""
    for key in [k for k in state_dict if k.startswith(prefix + 'teacher.')]:
        del state_dict[key]
    return state_dict


def drop_voxels(feats: Tensor, coors: Tensor, maps: List[Tensor],
                keep: Tensor) -> Tuple[Tensor, Tensor, List[Tensor]]:
    """Remove voxels and remap per-sample point-to-voxel maps (-1: gone).

    Args:
        feats (Tensor): (M, C) voxel features, samples one after another.
        coors (Tensor): (M, 4) batch-first coordinates.
        maps (list[Tensor]): Per sample (N_i,) indices into that sample's
            voxels.
        keep (Tensor): (M,) bool.
    """
    batch = coors[:, 0].long()
    counts = torch.bincount(batch, minlength=len(maps))
    starts = torch.cumsum(counts, 0) - counts
    kept_rank = torch.cumsum(keep.long(), 0) - 1
    kept_starts = torch.cumsum(
        torch.bincount(batch[keep], minlength=len(maps)), 0)
    kept_starts = torch.cat([kept_starts.new_zeros(1), kept_starts[:-1]])
    new_maps = []
    for b, m in enumerate(maps):
        global_idx = m + starts[b]
        valid = (m >= 0) & keep[global_idx.clamp(min=0)]
        local = kept_rank[global_idx.clamp(min=0)] - kept_starts[b]
        new_maps.append(torch.where(valid, local, torch.full_like(m, -1)))
    return feats[keep], coors[keep], new_maps
