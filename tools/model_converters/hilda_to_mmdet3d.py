# Copyright (c) HilDA authors. All rights reserved.
"""Export the student of a HilDA pre-training checkpoint for mmdet3d.

Examples:
    # MinkUNet segmentor: init_cfg=dict(type='Pretrained', checkpoint=OUT,
    # prefix='backbone.') on the backbone, or load_from=OUT
    python tools/model_converters/hilda_to_mmdet3d.py \
        work_dirs/hilda/iter_N.pth hilda_minkunet34.pth --target minkunet
    # CenterPoint: load_from=OUT (SparseEncoder is not a BaseModule)
    python tools/model_converters/hilda_to_mmdet3d.py CKPT OUT \
        --target centerpoint
    # PTv3 segmentor (configs/finetune/ptv3/): backbone init_cfg as MinkUNet
    python tools/model_converters/hilda_to_mmdet3d.py CKPT OUT --target ptv3

The output gets a ``<OUT>.sha256`` sidecar (``sha256sum -c OUT.sha256``
checks it); ``verify_checkpoint(OUT)`` from
``projects.HilDA.hilda.checkpoints.integrity`` checks it in Python. The
input is checked first (zip CRC, its sidecar, a readable checkpoint whose
student is a ``--target`` backbone); a problem ends in one line on stderr.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from projects.HilDA.hilda.apis import ConfigError, run_tool  # noqa: E402
from projects.HilDA.hilda.checkpoints import TARGET_PREFIXES, export_student
from projects.HilDA.hilda.errors import HilDAError  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='HilDA pre-training checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--target',
        choices=sorted(TARGET_PREFIXES),
        default='minkunet',
        help='downstream model the weights are for')
    args = parser.parse_args(argv)
    if not osp.isfile(args.src):
        raise ConfigError(f'{args.src} does not exist')
    try:
        counts = export_student(args.src, args.dst, args.target)
    except ValueError as e:
        if isinstance(e, HilDAError):
            raise
        raise ConfigError(f'{args.src}: {e}') from e
    print(f'kept {counts["kept"]} student keys as '
          f'"{TARGET_PREFIXES[args.target]}*", dropped {counts["dropped"]} '
          f'(teacher, heads, diffusion); wrote {args.dst} '
          f'(sha256 {counts["sha256"]}, in {args.dst}.sha256)')


if __name__ == '__main__':
    run_tool(main, 'hilda_to_mmdet3d.py')
