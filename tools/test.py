# Copyright (c) HilDA authors. All rights reserved.
"""Test (and evaluate) a model with an mmdet3d-style config.

Same flags as mmdet3d's ``tools/test.py``; usable without the repository
root on PYTHONPATH. Config and option mistakes end in one line on stderr.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import ConfigDict
from mmengine.model import is_model_wrapper

from projects.HilDA.hilda.apis import (ConfigError, add_common_args,
                                       apply_common_args, build_runner,
                                       finish_args, load_config, run_tool,
                                       setup_launcher)
from projects.HilDA.hilda.checkpoints import (check_checkpoint_covers_model,
                                              check_checkpoint_file)

TASKS = [
    'mono_det', 'multi-view_det', 'lidar_det', 'lidar_seg',
    'multi-modality_det'
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a HilDA downstream model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved. '
        'If specified, it will be automatically saved '
        'to the work_dir/timestamp/show_dir')
    parser.add_argument(
        '--score-thr', type=float, default=0.1, help='bbox score threshold')
    parser.add_argument(
        '--task',
        type=str,
        choices=TASKS,
        help='Determine the visualization method depending on the task.')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--tta', action='store_true', help='Test time augmentation')
    parser.add_argument(
        '--allow-partial-load',
        action='store_true',
        help='test a checkpoint that lacks some of the model\'s weights '
        '(they stay randomly initialised); refused by default')
    add_common_args(parser)
    return finish_args(parser.parse_args(argv))


def trigger_visualization_hook(cfg, args):
    """Turn on mmdet3d's visualisation hook for ``--show``/``--show-dir``."""
    visualization_hook = cfg.default_hooks.get('visualization')
    if visualization_hook is None:
        raise ConfigError(f'--show/--show-dir need a visualization hook in '
                          f'default_hooks of {args.config}')
    if args.task is None:
        raise ConfigError(f'--show/--show-dir need --task, one of {TASKS}')
    visualization_hook['draw'] = True
    if args.show:
        visualization_hook['show'] = True
        visualization_hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualization_hook['test_out_dir'] = args.show_dir
    visualization_hook['vis_task'] = args.task
    visualization_hook['score_thr'] = args.score_thr
    return cfg


def build_cfg(args):
    """Load the config and apply the command-line flags to it."""
    cfg = apply_common_args(load_config(args.config, args.cfg_options), args)
    if not osp.isfile(args.checkpoint):
        raise ConfigError(f'checkpoint {args.checkpoint} does not exist')
    check_checkpoint_file(args.checkpoint)
    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise ConfigError(f'--tta needs tta_model and tta_pipeline in '
                              f'{args.config}')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)

    setup_launcher(cfg, args.launcher)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    runner = build_runner(build_cfg(args))
    if not args.allow_partial_load:
        wrapped = args.tta or is_model_wrapper(runner.model)
        model = runner.model.module if wrapped else runner.model
        check_checkpoint_covers_model(model, args.checkpoint)
    runner.test()


if __name__ == '__main__':
    run_tool(main, 'test.py')
