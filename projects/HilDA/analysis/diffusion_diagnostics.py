# Copyright (c) HilDA authors. All rights reserved.
"""Does the diffusion objective learn anything from the student's features?

On held-out samples (the val infos) of a pre-trained HilDA model:

- :func:`denoising_errors`: the denoiser's clean-sample error
  ``mean((x_hat_0 - x_occ)^2)`` at fixed noise levels, with the sample's own
  condition and with the condition of another sample (the next one, cyclic).
  If the student's BEV condition carries information about the target, the
  true condition gives a clearly lower error.
- :func:`sampled_occupancy_iou`: BEV IoU of sampled (DDIM, DDPM) occupancy
  against the target (t+1, ground removed as the training target is), next
  to two baselines that need no model: every cell occupied, and the t0
  occupancy (built by the same target transform from the t0 scan) carried
  into t+1.
- :func:`loss_gradient_stats`: the gradient norm each weighted loss term
  sends into the student's last stage features, and each term's share of
  the parameter gradient of the student's last stage and of the whole
  student (as ``LossGradNormHook`` logs them during training);
  :func:`grad_share_table` prints the shares.
"""
import copy
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import LiDARPoints
from mmengine.config import Config
from mmengine.runner import set_random_seed
from mmengine.utils import ProgressBar
from torch import Tensor

from .loading import (VisualizationError, build_pretrain_dataset,
                      load_pretrainer, prepare_sample)
from .occupancy_metrics import mean_bev_iou


def occupancy_transform(cfg: Config, source_key: str = 'points'):
    """The pipeline's ``BEVOccupancyTarget``, reading ``source_key``: the t0
    occupancy made exactly as the target is (same grid, same ground
    removal)."""
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'BEVOccupancyTarget':
            step = copy.deepcopy(dict(step))
            step['source_key'] = source_key
            return TRANSFORMS.build(step)
    raise VisualizationError(
        'the pipeline has no BEVOccupancyTarget: no occupancy to diagnose')


@torch.no_grad()
def collect_samples(model,
                    dataset,
                    cfg: Config,
                    indices: Sequence[int],
                    seed: int = 0) -> Dict[str, object]:
    """The conditions, targets and t0 occupancies of ``indices``.

    Returns:
        dict: ``cond`` (N, C, H, W), ``target`` and ``occ_t0`` (N, K, H,
        W) in {-1, 1}, ``indices`` (of the sequences kept) and
        ``skipped`` (indices at a scene's first or last keyframe, which
        have no true t-1 or t+1).
    """
    head = model.diffusion_head
    if head is None:
        raise VisualizationError('the model has no diffusion_head')
    if not head.diffusion_mode.uses_prev_scan:
        raise VisualizationError(
            "diffusion diagnostics need mode='temporal' (t+1 target)")
    to_occ = occupancy_transform(cfg)
    conds, targets, occ_t0, kept, skipped = [], [], [], [], []
    bar = ProgressBar(len(indices))
    for index in indices:
        inputs, data_samples = prepare_sample(model, dataset, index, seed)
        bar.update()
        if not bool(head.valid_samples(1, data_samples)[0]):
            skipped.append(int(index))
            continue
        _, levels, sizes = model.student_levels(inputs, data_samples)
        kwargs = model.diffusion_inputs(levels, inputs, sizes, 1)
        conds.append(
            head.build_condition(
                kwargs['feats_t0'],
                kwargs['xyz_t0'],
                kwargs['batch_t0'],
                1,
                kwargs['feats_prev'],
                kwargs['xyz_prev'],
                kwargs['batch_prev'],
            ))
        targets.append(data_samples[0].occ_target.float()[None])
        points = inputs['points'][0].cpu()
        occ = to_occ(
            dict(points=LiDARPoints(points, points_dim=points.shape[1])))
        occ_t0.append(
            torch.as_tensor(np.asarray(occ['occ_target'])).float()[None].to(
                targets[-1].device))
        kept.append(int(index))
    if len(kept) < 2:
        raise VisualizationError(
            f'{len(kept)} sequence sample(s) among indices {list(indices)}: '
            'need two or more (one lends its condition to the other)')
    return dict(
        cond=torch.cat(conds),
        target=torch.cat(targets),
        occ_t0=torch.cat(occ_t0),
        indices=kept,
        skipped=skipped)


@torch.no_grad()
def denoising_errors(head,
                     cond: Tensor,
                     target: Tensor,
                     timesteps: Sequence[int] = (100, 300, 600),
                     seed: int = 0) -> Dict[int, Dict[str, float]]:
    """Clean-sample error with the true and with another sample's condition.

    Every sample is noised once per timestep with noise from ``seed``; the
    same noisy input is denoised under its own condition and under that of
    the next sample (cyclic).

    Returns:
        dict[int, dict[str, float]]: per timestep ``true``, ``wrong`` (mean
        squared error of the clipped x_hat_0), ``ratio`` (wrong / true),
        and ``iou_true``, ``iou_wrong``: the BEV IoU of the one-step
        estimate (x_hat_0 > 0) against the target, which a DDIM sample
        from pure noise cannot show before the high-noise steps are
        learnt.
    """
    wrong_cond = cond.roll(1, dims=0)
    gen = torch.Generator(device=target.device).manual_seed(seed)
    out = {}
    for t in timesteps:
        if not 0 <= t < head.scheduler.config.num_train_timesteps:
            raise VisualizationError(
                f'timestep {t} outside [0, '
                f'{head.scheduler.config.num_train_timesteps})')
        noise = torch.randn(target.shape, generator=gen, device=target.device)
        steps = torch.full((len(target), ),
                           t,
                           dtype=torch.long,
                           device=target.device)
        noisy = head.forward_diffusion.add_noise(target, noise, steps)
        x0_true = head.predict_x0(noisy, steps, cond)
        x0_wrong = head.predict_x0(noisy, steps, wrong_cond)
        true = (x0_true - target).square().mean()
        wrong = (x0_wrong - target).square().mean()
        out[int(t)] = dict(
            true=float(true),
            wrong=float(wrong),
            ratio=float(wrong / true.clamp(min=1e-12)),
            iou_true=mean_bev_iou(x0_true, target),
            iou_wrong=mean_bev_iou(x0_wrong, target))
    return out


@torch.no_grad()
def sampled_occupancy_iou(head,
                          cond: Tensor,
                          target: Tensor,
                          occ_t0: Tensor,
                          num_inference_steps: int = 20,
                          seed: int = 0,
                          samplers=('ddim', )) -> Dict[str, float]:
    """BEV IoU of sampled occupancy and of the two baselines.

    Args:
        samplers (Sequence[str]): ``'ddim'`` (deterministic) and/or
            ``'ddpm'`` (ancestral: fresh noise at every step, so a small
            bias of the denoiser does not pile up along the trajectory
            as it can in DDIM), each with ``num_inference_steps``.

    Returns:
        dict[str, float]: per sampler ``<s>`` (true condition),
        ``<s>_wrong_cond`` (another sample's condition) and
        ``<s>_occupied_fraction`` (the BEV share the true-condition
        samples call occupied: near 1 when sampling collapses to "all
        occupied", near the target's share when it does not; the IoU
        alone cannot tell a collapse from noise); ``all_occupied``,
        ``t0_carried`` and ``target_occupied_fraction``.
    """

    def sample(c, scheduler):
        gen = torch.Generator(device=c.device).manual_seed(seed)
        return head.sample(
            c,
            num_inference_steps=num_inference_steps,
            scheduler=scheduler,
            generator=gen)

    out = {}
    for scheduler in samplers:
        sampled = sample(cond, scheduler)
        out[scheduler] = mean_bev_iou(sampled, target)
        out[f'{scheduler}_occupied_fraction'] = float(
            (sampled > 0).any(1).float().mean())
        out[f'{scheduler}_wrong_cond'] = mean_bev_iou(
            sample(cond.roll(1, dims=0), scheduler), target)
    out.update(
        all_occupied=mean_bev_iou(torch.ones_like(target), target),
        t0_carried=mean_bev_iou(occ_t0, target),
        target_occupied_fraction=float((target > 0).any(1).float().mean()))
    return out


def loss_gradient_stats(model,
                        dataset,
                        indices: Sequence[int],
                        seed: int = 0) -> Dict[str, dict]:
    """Means over samples (train mode, one sample per step) of what
    ``LossGradNormHook`` logs.

    Returns:
        dict: ``norms`` ({term: gradient norm on the last stage's
        features}) and ``shares`` ({group: {term: share of the group's
        parameter gradient}}, groups ``last`` and ``student``).
    """
    model.train()
    model.log_grad_norms = model.log_grad_shares = True
    sums: Dict[str, List[float]] = {}
    try:
        for index in indices:
            inputs, data_samples = prepare_sample(model, dataset, index, seed)
            losses = model.loss(inputs, data_samples)
            for key, value in losses.items():
                if key.startswith(('gradnorm_', 'gradshare_')):
                    sums.setdefault(key, []).append(float(value))
            model.zero_grad(set_to_none=True)
    finally:
        model.log_grad_norms = model.log_grad_shares = False
        model.eval()
    means = {k: float(np.mean(v)) for k, v in sums.items()}
    shares: Dict[str, Dict[str, float]] = {}
    for group in model.grad_share_groups():
        prefix = f'gradshare_{group}_'
        shares[group] = {
            k[len(prefix):]: v
            for k, v in means.items() if k.startswith(prefix)
        }
    norms = {
        k[len('gradnorm_'):]: v
        for k, v in means.items() if k.startswith('gradnorm_')
    }
    return dict(norms=norms, shares=shares)


def grad_share_table(shares: Dict[str, Dict[str, float]]) -> str:
    """Markdown: one row per loss term, one column per parameter group
    (its share of that group's gradient, in %)."""
    groups = list(shares)
    terms = list(dict.fromkeys(t for g in groups for t in shares[g]))
    names = dict(last='last stage', student='whole student')
    rows = [
        '| loss term | ' +
        ' | '.join(f'share of the {names.get(g, g)} gradient'
                   for g in groups) + ' |', '| --- |' + ' ---: |' * len(groups)
    ]
    for term in terms:
        rows.append(f'| {term} | ' +
                    ' | '.join(f'{100 * shares[g].get(term, 0.0):.1f} %'
                               for g in groups) + ' |')
    return '\n'.join(rows)


def diffusion_diagnostics(cfg: Config,
                          checkpoint: Optional[str],
                          split: str = 'val',
                          num_samples: Optional[int] = None,
                          timesteps: Sequence[int] = (100, 300, 600),
                          num_inference_steps: int = 20,
                          seed: int = 0,
                          device: str = 'cpu',
                          samplers=('ddim', 'ddpm')) -> dict:
    """All diagnostics of one checkpoint, as a JSON-ready dict."""
    set_random_seed(seed)
    model = load_pretrainer(cfg, checkpoint, device)
    dataset = build_pretrain_dataset(cfg, split)
    count = len(dataset) if num_samples is None else min(
        num_samples, len(dataset))
    indices = list(range(count))
    data = collect_samples(model, dataset, cfg, indices, seed)
    head = model.diffusion_head
    result = dict(
        checkpoint=checkpoint,
        split=split,
        samples=data['indices'],
        skipped_no_sequence=data['skipped'],
        prediction_type=head.forward_diffusion.prediction_type,
        beta_schedule=head.scheduler.config.beta_schedule,
        denoising_error=denoising_errors(head, data['cond'], data['target'],
                                         timesteps, seed),
        occupancy_iou=sampled_occupancy_iou(head, data['cond'], data['target'],
                                            data['occ_t0'],
                                            num_inference_steps, seed,
                                            samplers),
        samplers=list(samplers),
        num_inference_steps=num_inference_steps)
    stats = loss_gradient_stats(model, dataset, data['indices'], seed)
    result['grad_norm_last_stage'] = stats['norms']
    result['grad_share'] = stats['shares']
    return result


def markdown_table(result: dict) -> str:
    """The diagnostics as a markdown table."""
    rows = ['| diagnostic | value |', '| --- | --- |']
    for t, err in result['denoising_error'].items():
        rows.append(f'| x_hat_0 MSE, t = {t}: true / wrong condition '
                    f'(ratio) | {err["true"]:.4f} / {err["wrong"]:.4f} '
                    f'({err["ratio"]:.2f}) |')
    for t, err in result['denoising_error'].items():
        rows.append(f'| BEV IoU of x_hat_0 > 0, t = {t}: true / wrong '
                    f'condition | {err["iou_true"]:.3f} / '
                    f'{err["iou_wrong"]:.3f} |')
    iou = result['occupancy_iou']
    steps = result['num_inference_steps']
    for sampler in result['samplers']:
        name = f'{sampler.upper()} {steps} steps'
        rows += [
            f'| BEV IoU, {name}: true / wrong condition | '
            f'{iou[sampler]:.3f} / {iou[f"{sampler}_wrong_cond"]:.3f} |',
            f'| BEV share occupied, {name} (true condition) / target | '
            f'{iou[f"{sampler}_occupied_fraction"]:.3f} / '
            f'{iou["target_occupied_fraction"]:.3f} |',
        ]
    rows += [
        f'| BEV IoU, all occupied | {iou["all_occupied"]:.3f} |',
        f'| BEV IoU, t0 occupancy carried into t+1 | '
        f'{iou["t0_carried"]:.3f} |',
    ]
    for term, norm in result['grad_norm_last_stage'].items():
        rows.append(f'| grad norm into the last stage, {term} | '
                    f'{norm:.3g} |')
    rows.append(f'| samples (left out: no sequence) | '
                f'{len(result["samples"])} '
                f'({len(result["skipped_no_sequence"])}) |')
    table = '\n'.join(rows)
    if result.get('grad_share'):
        table += '\n\n' + grad_share_table(result['grad_share'])
    return table
