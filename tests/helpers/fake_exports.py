# Copyright (c) HilDA authors. All rights reserved.
"""HilDA exports made from randomly initialised students, for the
downstream tests: a pre-trainer-style checkpoint (``student.*`` plus a head
to drop) goes through the real exporter."""
import copy

import torch
from mmdet3d.registry import MODELS
from mmengine.runner import save_checkpoint
from torch import nn

from projects.HilDA.hilda.checkpoints import export_student

# The student of configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter
# _demo.py, i.e. the backbone of the demo fine-tuning configs.
DEMO_MINKUNET = dict(
    type='MultiLevelMinkUNet',
    in_channels=4,
    base_channels=16,
    encoder_channels=[16, 32, 64, 128],
    encoder_blocks=[2, 2, 2, 2],
    decoder_channels=[128, 64, 48, 48],
    decoder_blocks=[2, 2, 2, 2])
# CenterPoint's SparseEncoder settings on one (x, y, z, intensity) sweep, as
# in configs/finetune/centerpoint_voxel02_second_secfpn_1xb2-300iter_demo.py.
DEMO_SPARSE_ENCODER = dict(
    type='PointSparseEncoder',
    in_channels=4,
    sparse_shape=[41, 320, 320],
    output_channels=128,
    order=('conv', 'norm', 'act'),
    encoder_channels=((16, 16, 32), (32, 32, 64), (64, 64, 128), (128, 128)),
    encoder_paddings=((0, 0, 1), (0, 0, 1), (0, 0, [0, 1, 1]), (0, 0)),
    block_type='basicblock')


class _Pretrainer(nn.Module):

    def __init__(self, student: dict):
        super().__init__()
        self.student = MODELS.build(copy.deepcopy(student))
        self.distill_neck = nn.Linear(4, 4)


def fake_export(student: dict,
                target: str,
                path: str,
                seed: int = 0) -> nn.Module:
    """Write ``path`` (an export for ``target``); returns the student.

    BatchNorm statistics are randomised too, so that a module whose
    buffers were not loaded cannot equal the checkpoint by chance.
    """
    torch.manual_seed(seed)
    model = _Pretrainer(student)
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if name.endswith(('running_mean', 'running_var')):
                value.uniform_(0.5, 1.5)
    src = path + '.pretrain.pth'
    save_checkpoint(dict(state_dict=model.state_dict()), src)
    export_student(src, path, target)
    return model.student
