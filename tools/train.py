# Copyright (c) HilDA authors. All rights reserved.
"""Train (pre-train or fine-tune) with an mmdet3d-style config.

Same flags as mmdet3d's ``tools/train.py``; usable without the repository
root on PYTHONPATH. Config and option mistakes end in one line on stderr.
"""
import argparse
import logging
import os.path as osp
import sys

# Make `projects.HilDA.hilda` (imported by the configs) importable from any
# working directory, as mmdet3d's dist_train.sh does through PYTHONPATH.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch
from mmengine.logging import print_log

from projects.HilDA.hilda.apis import (ConfigError, add_common_args,
                                       apply_common_args,
                                       apply_skip_bad_samples, build_runner,
                                       check_train_cfg, check_work_dir_free,
                                       finish_args, load_config, run_tool,
                                       setup_launcher)
from projects.HilDA.hilda.checkpoints import (check_resume_checkpoint,
                                              find_resume_checkpoint)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a HilDA pre-training or downstream model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--sync_bn',
        choices=['none', 'torch', 'mmcv'],
        default='none',
        help='convert all BatchNorm layers in the model to SyncBatchNorm '
        '(SyncBN) or mmcv.ops.sync_bn.SyncBatchNorm (MMSyncBN) layers.')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='enable automatically scaling LR.')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.')
    add_common_args(parser)
    return finish_args(parser.parse_args(argv))


def build_cfg(args):
    """Load the config and apply the command-line flags to it."""
    cfg = apply_common_args(load_config(args.config, args.cfg_options), args)

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        elif optim_wrapper != 'OptimWrapper':
            raise ConfigError('--amp works only with optim_wrapper type '
                              f'OptimWrapper, but {args.config} uses '
                              f'{optim_wrapper}')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper' and \
            not torch.cuda.is_available():
        if args.amp:
            raise ConfigError('--amp needs a CUDA GPU (mmengine\'s '
                              'AmpOptimWrapper); drop it on this machine')
        # A GPU config (e.g. the paper's) stays usable on CPU for checks.
        print_log(
            f'{args.config} asks for AmpOptimWrapper but CUDA is not '
            'available: training in float32 with OptimWrapper',
            logger='current',
            level=logging.WARNING)
        cfg.optim_wrapper.type = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            cfg.optim_wrapper.pop(key, None)

    if args.sync_bn != 'none':
        cfg.sync_bn = args.sync_bn
    if cfg.get('sync_bn') and not torch.cuda.is_available():
        # torch's SyncBatchNorm runs on CUDA only; a multi-GPU config
        # stays usable for CPU (gloo) checks with per-process BatchNorm.
        print_log(
            f'sync_bn={cfg.sync_bn!r} needs CUDA: CPU processes keep '
            'per-process BatchNorm',
            logger='current',
            level=logging.WARNING)
        cfg.sync_bn = None

    if args.auto_scale_lr:
        auto_scale_lr = cfg.get('auto_scale_lr') or {}
        if 'enable' not in auto_scale_lr or \
                'base_batch_size' not in auto_scale_lr:
            raise ConfigError(
                '--auto-scale-lr needs auto_scale_lr = dict(enable=False, '
                f'base_batch_size=...) in {args.config}')
        cfg.auto_scale_lr.enable = True

    # resume is determined in this priority: resume from > auto_resume;
    # the checkpoint is checked here (empty, truncated, exported weights)
    # and auto-resume falls back to the newest intact one.
    if args.resume == 'auto':
        resume_from = find_resume_checkpoint(cfg.work_dir)
        cfg.resume = resume_from is not None
        cfg.load_from = resume_from
    elif args.resume is not None:
        check_resume_checkpoint(args.resume)
        cfg.resume = True
        cfg.load_from = args.resume
    check_train_cfg(cfg, args.config)

    # --cfg-options skip_bad_samples=True wraps the training set.
    cfg = apply_skip_bad_samples(cfg)
    setup_launcher(cfg, args.launcher)
    # Before the Runner writes its config dump into the work dir.
    check_work_dir_free(cfg)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    build_runner(build_cfg(args)).train()


if __name__ == '__main__':
    run_tool(main, 'train.py')
