# Copyright (c) HilDA authors. All rights reserved.
"""tools/analysis_tools/visualize_pretraining.py and its module, on the
tiny pre-trainer and the synthetic sequence."""
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from projects.HilDA.analysis.loading import (VisualizationError,
                                             load_pretrainer, val_ann_file)
from projects.HilDA.analysis.occupancy_metrics import (occupancy_iou,
                                                       occupancy_to_bev)
from projects.HilDA.analysis.pca_colours import PCAColours, feature_map_rgb
from projects.HilDA.analysis.pretrain_vis import (BEV_MARGIN, BEV_PANEL,
                                                  FEATURE_PANEL_W,
                                                  PANEL_TITLE_H, SUPTITLE_H,
                                                  draw_occupancy,
                                                  visualize_pretraining)
from projects.HilDA.hilda.errors import HilDAError
from tests.conftest import REPO_ROOT, load_tool
from tests.helpers.subprocesses import run_ok, user_env
from tests.helpers.tiny_hilda import OCC_RANGE, tiny_config_file, tiny_pipeline

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                'visualize_pretraining.py')
TINY_IMAGE = (42, 56)  # MultiViewImageAug(final_size) of tiny_pipeline
OCC_PANEL_W = BEV_MARGIN[0] + BEV_PANEL + BEV_MARGIN[3]
OCC_H = BEV_MARGIN[1] + BEV_PANEL + BEV_MARGIN[2] + SUPTITLE_H


def features_size(num_cams, num_levels, image=TINY_IMAGE):
    img_h = round(FEATURE_PANEL_W * image[0] / image[1])
    return ((1 + 2 * num_levels) * FEATURE_PANEL_W,
            num_cams * (img_h + PANEL_TITLE_H) + SUPTITLE_H)


def occupancy_size(num_panels):
    return num_panels * OCC_PANEL_W + 100, OCC_H


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    """The tiny pre-trainer and the synthetic sequence as a config file."""
    return tiny_config_file(tmp_path_factory.mktemp('seq'))


def read_png(path):
    img = cv2.imread(path)
    assert img is not None, f'{path} not written'
    return img


def assert_picture(path, size):
    img = read_png(path)
    assert (img.shape[1], img.shape[0]) == size
    assert img.astype(np.float64).var() > 0, f'{path} is blank'


def test_pca_colours_are_deterministic_and_consistent():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(200, 16, generator=gen)
    first, second = PCAColours.fit(feats), PCAColours.fit(feats.clone())
    torch.testing.assert_close(first.components, second.components)
    rgb = first(feats)
    torch.testing.assert_close(rgb, second(feats), rtol=0, atol=0)
    assert rgb.shape == (200, 3)
    assert rgb.min() >= 0 and rgb.max() <= 1
    # min-max over the fitting set: every channel spans [0, 1].
    torch.testing.assert_close(rgb.amin(0), torch.zeros(3))
    torch.testing.assert_close(rgb.amax(0), torch.ones(3))
    # Identical features, identical colours, wherever they appear.
    same = first(feats[[5, 17, 5, 5]])
    torch.testing.assert_close(same[0], rgb[5], rtol=0, atol=0)
    assert (same[[2, 3]] == same[0]).all()
    assert not torch.equal(same[0], same[1])
    # normalize: the norm (arbitrary under a cosine loss) is ignored.
    unit = PCAColours.fit(feats, normalize=True)
    torch.testing.assert_close(unit(feats * 3), unit(feats))
    # Fewer than 3 channels: the missing components give a constant 0.
    flat = PCAColours.fit(feats[:, :2])(feats[:, :2])
    assert (flat[:, 2] == 0).all() and flat[:, :2].var(0).min() > 0


def test_feature_map_rgb_follows_the_teacher_pixel_convention():
    gen = torch.Generator().manual_seed(1)
    fmap = torch.randn(8, 3, 4, generator=gen)
    colours = PCAColours.fit(fmap.flatten(1).T)
    # A padded CNN map (4 cells of 16 px cover 64 > 56 px) is cropped.
    rgb = feature_map_rgb(colours, fmap, (42, 56), stride=16)
    assert rgb.shape == (42, 56, 3)
    assert rgb.min() >= 0 and rgb.max() <= 1
    # Pixels up to the centre of cell (0, 0) (u, v < 8) show exactly its
    # colour, as bilinear_sample gives them exactly its feature.
    np.testing.assert_allclose(
        rgb[:8, :8].reshape(-1, 3),
        colours(fmap[:, 0, 0][None]).expand(64, 3).numpy(),
        atol=1e-6)
    assert not np.allclose(rgb[8, 8], rgb[7, 7])


def test_occupancy_bev_and_iou():
    occ = -torch.ones(4, 2, 3)
    occ[0, 0, 0] = occ[2, 0, 0] = 1  # highest occupied bin: 2
    occ[1, 1, 2] = 1
    assert occupancy_to_bev(occ).tolist() == [[3, 0, 0], [0, 0, 2]]
    pred = occ.clone()
    pred[1, 1, 2] = -1
    pred[3, 1, 0] = 1
    iou = occupancy_iou(pred, occ)
    assert iou['bev'] == pytest.approx(1 / 3)
    assert iou['voxel'] == pytest.approx(2 / 4)
    region = torch.tensor([[True, False, False], [False, False, False]])
    assert occupancy_iou(pred, occ, region)['bev'] == 1.0
    assert np.isnan(occupancy_iou(-occ.abs(), -occ.abs())['bev'])


def test_masked_occupancy_picture_shows_the_mask(tmp_path):
    gen = torch.Generator().manual_seed(2)
    target = torch.where(torch.rand(4, 16, 16, generator=gen) > 0.7, 1.0, -1.0)
    mask = torch.zeros(1, 16, 16)
    mask[:, 4:8, 8:12] = 1
    pred = target * mask  # perfect inside the mask, unknown outside
    path = str(tmp_path / 'occ.png')
    size, iou = draw_occupancy(path, pred, target, OCC_RANGE, mask)
    assert size == occupancy_size(4)
    assert_picture(path, size)
    assert iou['bev'] == 1.0 and iou['voxel'] == 1.0


def test_val_ann_file():
    assert val_ann_file('data/x/nuscenes_infos_train.pkl') == \
        osp.join('data/x', 'nuscenes_infos_val.pkl')
    assert val_ann_file('train/infos_train.pkl') == \
        osp.join('train', 'infos_val.pkl')
    with pytest.raises(VisualizationError, match="no 'train'"):
        val_ann_file('infos.pkl')


def test_visualize_pretraining_writes_both_pictures(tiny_config, tmp_path):
    cfg = Config.fromfile(tiny_config)
    out_dir = str(tmp_path / 'vis')
    written = visualize_pretraining(
        cfg, None, out_dir, index=1, num_inference_steps=3, seed=0)
    assert written == dict(
        features=osp.join(out_dir, 'features_1.png'),
        occupancy=osp.join(out_dir, 'occupancy_1.png'))
    # The three front cameras, two levels (tiny model: num_levels=2).
    assert_picture(written['features'], features_size(3, 2))
    assert_picture(written['occupancy'], occupancy_size(3))
    first = read_png(written['features'])
    # Same seed, same picture.
    again = visualize_pretraining(
        cfg,
        None,
        str(tmp_path / 'again'),
        index=1,
        num_inference_steps=3,
        seed=0,
        all_cameras=True)
    assert_picture(again['features'], features_size(6, 2))
    assert np.array_equal(
        read_png(again['occupancy']), read_png(written['occupancy']))
    assert first.shape != read_png(again['features']).shape


def test_masked_mode_without_distillation(tiny_config, tmp_path):
    cfg = Config.fromfile(tiny_config)
    cfg.model.distill_head = None
    cfg.model.diffusion_head.update(mode='masked', mask_patch_size=2)
    dataset = cfg.train_dataloader.dataset
    dataset.update(temporal=False, pipeline=tiny_pipeline(temporal=False))
    written = visualize_pretraining(
        cfg, None, str(tmp_path), index=1, num_inference_steps=2)
    assert list(written) == ['occupancy']  # no heads H_l: no features
    assert_picture(written['occupancy'], occupancy_size(4))


def test_cli_on_a_saved_checkpoint(tiny_config, tmp_path):
    cfg = Config.fromfile(tiny_config)
    model = load_pretrainer(cfg)
    state = model.state_dict()
    assert not any(k.startswith('teacher.') for k in state)
    checkpoint = str(tmp_path / 'iter_1.pth')
    save_checkpoint(dict(meta=dict(iter=1), state_dict=state), checkpoint)
    out_dir = tmp_path / 'cli'
    result = run_ok([
        sys.executable, TOOL, tiny_config, checkpoint, '--out-dir', out_dir,
        '--index', '1', '--num-inference-steps', '2'
    ],
                    tmp_path,
                    env=user_env(OMP_NUM_THREADS='1'))
    assert 'wrote' in result.stdout and 'occupancy IoU' in result.stdout
    assert_picture(str(out_dir / 'features_1.png'), features_size(3, 2))
    assert_picture(str(out_dir / 'occupancy_1.png'), occupancy_size(3))
    # A bad index is a one-line HilDAError (run_tool prints it alone).
    tool = load_tool('analysis_tools/visualize_pretraining.py')
    with pytest.raises(HilDAError, match='index 7 out of range'):
        tool.main([
            tiny_config, checkpoint, '--out-dir',
            str(out_dir), '--index', '7'
        ])
