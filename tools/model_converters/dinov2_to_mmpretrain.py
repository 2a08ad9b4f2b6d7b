# Copyright (c) HilDA authors. All rights reserved.
"""Convert an official DINOv2 checkpoint to mmpretrain's key names, offline.

Example::

    python tools/model_converters/dinov2_to_mmpretrain.py \\
        dinov2_vitb14_pretrain.pth checkpoints/dinov2-b_mmpretrain.pth \\
        --arch dinov2-b

The result is ``{'state_dict': {'backbone.layers.0.ln1.weight': ...}}``,
the layout of mmpretrain's own converted DINOv2 checkpoints, so it also
loads in mmpretrain configs. ``DINOv2Teacher`` reads either file directly;
converting once only saves the renaming at every start. The key mapping is
the teacher's own (``hilda.models.teachers.checkpoint_converters``).
"""
import argparse
import os
import os.path as osp
import sys
from collections import OrderedDict

# Make `projects.HilDA.hilda` importable from any working directory, as
# tools/train.py does.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch

from projects.HilDA.hilda.apis import ConfigError, run_tool
from projects.HilDA.hilda.models.teachers import (DINOv2Teacher,
                                                  convert_dinov2_to_mmpretrain,
                                                  is_official_dinov2,
                                                  load_state_dict_file)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official DINOv2 .pth (blocks.N.* keys) to '
        "mmpretrain's VisionTransformer keys (layers.N.*)")
    parser.add_argument('src', help='official DINOv2 checkpoint (local)')
    parser.add_argument('dst', help='where to write the converted file')
    parser.add_argument(
        '--prefix',
        default='backbone.',
        help="prefix of every key in the output (mmpretrain's layout); "
        "'' for bare VisionTransformer keys")
    parser.add_argument(
        '--arch',
        default=None,
        help='also check the result loads into DINOv2Teacher(arch=ARCH), '
        'e.g. dinov2-s (builds the model on the CPU)')
    return parser.parse_args(argv)


def convert(src: str,
            dst: str,
            prefix: str = 'backbone.',
            arch: str = None) -> dict:
    """Convert ``src`` to ``dst``; return the counts printed by the tool.

    Raises:
        ConfigError: If ``src`` is missing, unreadable, not in the official
            format, or does not fit ``arch`` (``dst`` is written before
            this last check).
    """
    try:
        state_dict = load_state_dict_file(src)
        if not is_official_dinov2(state_dict):
            raise ValueError(f'{src!r} is not an official DINOv2 checkpoint '
                             '(no blocks.N.* keys); nothing to convert')
        converted, counts = convert_dinov2_to_mmpretrain(state_dict)
        counts['total'] = len(state_dict)
        out = OrderedDict((prefix + k, v) for k, v in converted.items())
        if osp.dirname(dst):
            os.makedirs(osp.dirname(dst), exist_ok=True)
        torch.save({'state_dict': out}, dst)
        if arch is not None:
            # Read the written file back the way the teacher will.
            counts.update(DINOv2Teacher(arch=arch, checkpoint=dst).load_counts)
    except (OSError, ValueError) as e:
        raise ConfigError(str(e)) from e
    return counts


def main(argv=None):
    args = parse_args(argv)
    counts = convert(args.src, args.dst, args.prefix, args.arch)
    line = (f'{counts["total"]} keys read: {counts["renamed"]} renamed, '
            f'{counts["unchanged"]} unchanged, {counts["dropped"]} dropped')
    if 'kept' in counts:
        line += (f'; {args.arch}: {counts["kept"]} loaded, '
                 f'{counts["missing"]} missing, {counts["unexpected"]} '
                 'unexpected')
    print(line)
    print(f'saved {args.dst}')


if __name__ == '__main__':
    run_tool(main, 'dinov2_to_mmpretrain.py')
