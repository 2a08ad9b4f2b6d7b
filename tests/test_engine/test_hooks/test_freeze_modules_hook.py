# Copyright (c) HilDA authors. All rights reserved.
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tests.conftest import REPO_ROOT
from tests.helpers.fake_exports import DEMO_MINKUNET, fake_export
from tests.helpers.tiny_demo_world import tiny_demo_root

LINEAR_PROBE = osp.join(
    REPO_ROOT, 'configs', 'finetune',
    'minkunet18-w16_spconv-hilda-linear-probe_1xb2-200iter_demo-lidarseg.py')


def test_linear_probe_trains_only_the_classifier(tmp_path):
    """Three iterations of the demo linear-probe config: the backbone's
    weights and BatchNorm statistics stay the pre-trained ones, the
    classifier changes."""
    export = str(tmp_path / 'minkunet.pth')
    fake_export(DEMO_MINKUNET, 'minkunet', export)
    cfg = Config.fromfile(LINEAR_PROBE)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone.init_cfg.checkpoint = export
    cfg.train_dataloader.dataset.data_root = tiny_demo_root()
    cfg.train_cfg.max_iters = 3
    cfg.train_cfg.val_interval = 100
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    runner = Runner.from_cfg(cfg)
    pretrained = torch.load(export, weights_only=True)['state_dict']
    head_before = {
        k: v.clone()
        for k, v in runner.model.decode_head.state_dict().items()
    }
    runner.train()

    backbone = runner.model.backbone
    assert not backbone.training
    assert all(not p.requires_grad for p in backbone.parameters())
    for name, value in backbone.state_dict().items():
        if name.endswith('num_batches_tracked'):
            assert value == 0, name  # BN never ran in train mode
            continue
        stored = pretrained['backbone.' + name]
        if stored.dim() == 5:  # exported in spconv-1 layout
            stored = stored.permute(4, 0, 1, 2, 3)
        assert torch.equal(value, stored), name
    head = runner.model.decode_head
    assert all(p.requires_grad for p in head.parameters())
    assert not torch.equal(head.conv_seg.weight,
                           head_before['conv_seg.weight'])
