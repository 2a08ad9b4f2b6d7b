# Copyright (c) HilDA authors. All rights reserved.
"""Runner configs of the tiny pre-trainer for the reliability tests.

A few iterations of the tiny HilDA pre-trainer (tests/helpers/tiny_hilda.py)
on the synthetic sequence, through mmengine's Runner, in well under a
minute on one CPU core. ``NaNAtCallPretrainer`` makes one loss term NaN at a
chosen training step; ``KillAtIterHook`` SIGKILLs the process like a
preempted job.
"""
import copy
import json
import os
import os.path as osp
import signal

from mmdet3d.registry import HOOKS, MODELS
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm

from projects.HilDA.hilda.models.pretrainers.hilda_pretrainer import \
    HilDAPretrainer
from tests.helpers.synthetic_nuscenes import write_sequence
from tests.helpers.tiny_hilda import tiny_model_cfg, tiny_pipeline


@MODELS.register_module()
class NaNAtCallPretrainer(HilDAPretrainer):
    """The tiny pre-trainer whose ``nan_term`` is NaN at the
    ``nan_at``-th (0-based) loss computation."""

    def __init__(self,
                 nan_at: int = 1,
                 nan_term: str = 'loss_cls',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.nan_at = nan_at
        self.nan_term = nan_term
        self.calls = 0

    def loss(self, inputs, data_samples):
        losses = super().loss(inputs, data_samples)
        if self.calls == self.nan_at:
            losses[self.nan_term] = losses[self.nan_term] * float('nan')
        self.calls += 1
        return losses


@MODELS.register_module()
class FrozenBNPretrainer(HilDAPretrainer):
    """The tiny pre-trainer with the student's BatchNorms in eval mode, so
    that a sample's forward does not depend on the rest of its batch (for
    the DDP-vs-single-process comparison)."""

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self.student.modules():
            if isinstance(module, _BatchNorm):
                module.eval()
        return self


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """SIGKILL this process after training iteration ``kill_at`` (1-based),
    i.e. no cleanup, no final checkpoint: a preempted job."""

    priority = 'LOWEST'

    def __init__(self, kill_at: int) -> None:
        self.kill_at = kill_at

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class DDPReportHook(Hook):
    """Write ``ddp_report_rank{rank}.json`` to the work dir: the model
    wrapper, the parameters DDP's reducer all-reduces (``synced``) and,
    after training, whether any teacher parameter got a gradient."""

    def before_train(self, runner) -> None:
        model = runner.model
        self.report = dict(wrapper=type(model).__name__, synced=[])
        if is_model_wrapper(model) and hasattr(model,
                                               '_build_params_for_reducer'):
            names = {id(p): n for n, p in model.module.named_parameters()}
            params, _ = model._build_params_for_reducer()
            self.report['synced'] = sorted(names[id(p)] for p in params)

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        teacher = list(model.teacher.parameters())
        self.report.update(
            teacher_params=len(teacher),
            teacher_requires_grad=any(p.requires_grad for p in teacher),
            teacher_grads=sum(p.grad is not None for p in teacher),
            teacher_training=model.teacher.training)
        path = osp.join(runner.work_dir, f'ddp_report_rank{get_rank()}.json')
        with open(path, 'w') as f:
            json.dump(self.report, f)


def deterministic_pipeline():
    """``tiny_pipeline`` with every augmentation switched off."""
    pipeline = copy.deepcopy(tiny_pipeline(True))
    for step in pipeline:
        if step['type'] == 'MultiViewImageAug':
            step.update(flip_ratio=0.0, resize_range=(1.0, 1.0))
        elif step['type'] == 'ConsistentPointAug':
            step.update(
                rot_range=(0.0, 0.0),
                scale_ratio_range=(1.0, 1.0),
                translation_std=(0.0, 0.0, 0.0),
                flip_ratio_bev_horizontal=0.0,
                flip_ratio_bev_vertical=0.0)
    return pipeline


def tiny_dataset_cfg(root, num_frames=4, pipeline=None):
    """Write the synthetic sequence under ``root``; its dataset config."""
    os.makedirs(str(root), exist_ok=True)
    info, _, _ = write_sequence(str(root), num_frames=num_frames)
    return dict(
        type='HilDANuScenesDataset',
        data_root=str(root),
        ann_file=info,
        data_prefix=dict(pts='', img=''),
        pipeline=pipeline or tiny_pipeline(True),
        temporal=True)


def tiny_runner_cfg(data_root,
                    work_dir,
                    max_iters=3,
                    num_frames=4,
                    ckpt_interval=100,
                    model=None,
                    dataset=None,
                    **extra):
    """A Runner config (plain dict) training the tiny pre-trainer."""
    cfg = dict(
        default_scope='mmdet3d',
        model=model or tiny_model_cfg(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='pseudo_collate'),
            dataset=dataset or tiny_dataset_cfg(data_root, num_frames)),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01),
            clip_grad=dict(max_norm=10.0)),
        param_scheduler=[
            dict(
                type='LinearLR',
                start_factor=0.1,
                by_epoch=False,
                begin=0,
                end=4)
        ],
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=1),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(
                type='CheckpointHook', by_epoch=False, interval=ckpt_interval),
            sampler_seed=dict(type='DistSamplerSeedHook')),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo')),
        log_processor=dict(by_epoch=False, window_size=1),
        log_level='INFO',
        randomness=dict(seed=0),
        custom_imports=dict(
            imports=['projects.HilDA.hilda', 'tests.helpers.reliability'],
            allow_failed_imports=False))
    cfg.update(copy.deepcopy(extra))
    return cfg
