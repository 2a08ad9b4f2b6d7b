# Copyright (c) HilDA authors. All rights reserved.
"""The diffusion diagnostics (library and tools/analysis_tools CLI)."""
import json

import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from projects.HilDA.analysis.diffusion_diagnostics import (
    denoising_errors, sampled_occupancy_iou)
from projects.HilDA.analysis.loading import load_pretrainer
from projects.HilDA.analysis.occupancy_metrics import mean_bev_iou
from tests.conftest import load_tool
from tests.helpers.tiny_hilda import tiny_config_file

K = 2


def head_that_reads_its_condition():
    """A head whose denoiser predicts the exact noise of the occupancy
    written in its condition's first K channels."""
    head = MODELS.build(
        dict(
            type='OccupancyDiffusionHead',
            in_channels=2,
            point_cloud_range=(0, 0, 0, 8, 8, 2),
            cell_size=1.0,
            num_height_bins=K,
            cond_channels=None,
            block_out_channels=(8, 8),
            norm_num_groups=4,
            num_train_timesteps=1000))
    alphas = head.scheduler.alphas_cumprod

    def forward(noisy, timesteps, cond, bev_mask=None):
        alpha = alphas[timesteps].view(-1, 1, 1, 1)
        return (noisy - alpha.sqrt() * cond[:, :K]) / (1 - alpha).sqrt()

    head.forward = forward
    return head


def occupancies(num=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.where(
        torch.rand(num, K, 8, 8, generator=gen) > 0.7, 1.0, -1.0)


def test_the_true_condition_beats_another_samples():
    head = head_that_reads_its_condition()
    target = occupancies()
    cond = torch.cat([target, torch.zeros_like(target)], dim=1)
    errors = denoising_errors(head, cond, target, timesteps=(100, 600))
    assert set(errors) == {100, 600}
    for err in errors.values():
        assert err['true'] < 1e-6
        assert err['wrong'] > 0.1 and err['ratio'] > 100
        # The exact x_hat_0 recovers the occupancy; another sample's does
        # not.
        assert err['iou_true'] == pytest.approx(1.0)
        assert err['iou_wrong'] < 0.9


@pytest.mark.parametrize('sampler', ['ddim', 'ddpm'])
def test_sampled_iou_and_its_baselines(sampler):
    head = head_that_reads_its_condition()
    target = occupancies()
    cond = torch.cat([target, torch.zeros_like(target)], dim=1)
    occ_t0 = -torch.ones_like(target)
    occ_t0[:, :, :4] = 1
    iou = sampled_occupancy_iou(
        head, cond, target, occ_t0, num_inference_steps=5, samplers=[sampler])
    assert iou[sampler] == pytest.approx(1.0)
    assert iou[f'{sampler}_wrong_cond'] < 0.9
    # Exact samples occupy what the target occupies, no more.
    assert iou[f'{sampler}_occupied_fraction'] == pytest.approx(
        iou['target_occupied_fraction'])
    assert iou[f'{sampler}_occupied_fraction'] < 1
    bev = (target > 0).any(1)
    expected_all = bev.flatten(1).float().mean(1).mean().item()
    assert iou['all_occupied'] == pytest.approx(expected_all)
    assert iou['t0_carried'] == pytest.approx(mean_bev_iou(occ_t0, target))
    assert iou['t0_carried'] != pytest.approx(iou['all_occupied'])


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    # Four frames: the middle two are sequences, the ends are not.
    return tiny_config_file(tmp_path_factory.mktemp('seq'), num_frames=4)


def test_cli_writes_json_and_prints_a_table(tiny_config, tmp_path, capsys):
    model = load_pretrainer(Config.fromfile(tiny_config))
    checkpoint = str(tmp_path / 'iter_1.pth')
    save_checkpoint(
        dict(meta=dict(iter=1), state_dict=model.state_dict()), checkpoint)
    out = tmp_path / 'diag.json'
    tool = load_tool('analysis_tools/diffusion_diagnostics.py')
    tool.main([
        tiny_config, checkpoint, '--out',
        str(out), '--split', 'train', '--timesteps', '10', '50',
        '--num-inference-steps', '2'
    ])
    result = json.loads(out.read_text())
    assert result['samples'] == [1, 2]
    assert result['skipped_no_sequence'] == [0, 3]
    assert set(result['denoising_error']) == {'10', '50'}
    assert set(result['occupancy_iou']) >= {
        'ddim', 'ddim_wrong_cond', 'ddpm', 'ddpm_wrong_cond', 'all_occupied',
        't0_carried'
    }
    assert result['grad_norm_last_stage']['diffusion'] > 0
    printed = capsys.readouterr().out
    assert '| x_hat_0 MSE, t = 10' in printed
    assert 'x_hat_0 > 0, t = 50' in printed and 'all occupied' in printed
    assert 'DDIM 2 steps' in printed and 'DDPM 2 steps' in printed
