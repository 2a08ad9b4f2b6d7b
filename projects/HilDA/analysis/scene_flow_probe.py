# Copyright (c) HilDA authors. All rights reserved.
"""Scene-flow probe of frozen student features on the demo world.

The paper claims the temporal objective helps scene flow. The probe asks
how much flow a small head can read from *frozen* student features:

1. The exported student (mmdet3d's ``MinkUNetBackbone``, as the lidarseg
   fine-tuning builds it) runs, frozen, on the t0 scan and on the t+1 scan
   moved into the t0 LiDAR frame (``HilDANuScenesDataset`` with
   ``LoadTemporalPoints``, i.e. ego motion removed); every point gets its
   voxel's last-stage feature.
2. The t+1 points are pooled into ``match_voxel`` cells (mean position and
   feature), so that the ``num_neighbours`` nearest cells reach 1-2 m
   (objects move a few metres between two keyframes: the residual below
   supplies what the candidates do not reach).
3. :class:`FlowProbeHead` (trained; 6.5k parameters on 48 channels)
   scores each t0 point's neighbours from ``[f_t0, f_t+1, offset]``,
   softmax-averages their offsets and features, and adds a regressed
   residual: a soft correspondence, so good features are what makes the
   right neighbour win.
4. Training: on the train split's scans, ``points_per_scan`` t0 points
   per scan (half moving where there are that many), the L1 end-point
   error averaged over moving and static points separately, then over
   both (95 % of the points are static: unweighted, predicting 0 wins).
5. Evaluation: end-point error (EPE, m) of every point of the held-out
   scans that has a t+1 (the demo world's ``demo_gt_path`` flow: where the
   same surface point is at t+1 in the t0 LiDAR frame, 0 for the static
   world), over all, moving (|flow| > ``moving_threshold``) and static
   points; with the zero-flow EPE for reference.
"""
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import Tensor, nn

from projects.HilDA.hilda.errors import HilDAError

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
DATASET_CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets',
                          'hilda_demo.py')
MODEL_CONFIG = osp.join(
    REPO, 'configs', 'finetune',
    'minkunet18-w16_spconv-hilda_1xb2-200iter_demo-lidarseg.py')


class FlowProbeError(HilDAError, ValueError):
    """The data has no usable flow ground truth."""


def _register() -> None:
    """mmdet3d's and HilDA's modules, with mmdet3d as the default scope
    (pipelines are built through mmengine's root registries, as in a
    Runner)."""
    from mmdet3d.utils import register_all_modules

    import projects.HilDA.hilda  # noqa: F401
    register_all_modules(init_default_scope=True)


def load_flow_scans(data_root: str,
                    ann_file: str,
                    max_scans: Optional[int] = None) -> List[dict]:
    """The scans of an info file that have a t+1 keyframe, with their
    flow ground truth.

    Args:
        data_root (str): Demo data root (``tools/create_demo_data.py``).
        ann_file (str): Info file name inside ``data_root``.
        max_scans (int, optional): Keep this many, evenly spread over the
            file (all when None).

    Returns:
        list[dict]: ``token``, ``points`` (N, 4) and ``points_next``
        (M, 4) float32 tensors in the t0 LiDAR frame, ``flow`` (N, 3).

    Raises:
        FlowProbeError: A sample has no ``demo_gt_path`` (not the demo
            world), its file is missing, or no sample has a t+1.
    """
    from mmdet3d.registry import DATASETS
    from mmengine.config import Config

    _register()
    dataset_cfg = Config.fromfile(DATASET_CONFIG).train_dataloader.dataset
    # The pre-training's own loading steps: t0 and its neighbours moved
    # into the t0 frame, nothing else.
    loading = ('LoadCheckedPointsFromFile', 'LoadTemporalPoints')
    dataset_cfg.update(
        data_root=data_root,
        ann_file=ann_file,
        modality=dict(use_lidar=True, use_camera=False),
        pipeline=[s for s in dataset_cfg.pipeline if s['type'] in loading])
    dataset = DATASETS.build(dataset_cfg)
    indices = [
        i for i in range(len(dataset))
        if not dataset.get_data_info(i)['temporal']['next']['is_fallback']
    ]
    if not indices:
        raise FlowProbeError(f'{osp.join(data_root, ann_file)}: no sample '
                             'has a t+1 keyframe')
    if max_scans is not None and max_scans < len(indices):
        picks = np.linspace(0, len(indices) - 1, max_scans).round()
        indices = [indices[int(i)] for i in picks]
    scans = []
    for i in indices:
        info = dataset.get_data_info(i)
        gt_path = info.get('demo_gt_path')
        if not gt_path:
            raise FlowProbeError(
                f'{osp.join(data_root, ann_file)}: sample {info["token"]} '
                'has no demo_gt_path (scene-flow ground truth exists for '
                'the demo world only)')
        gt_path = osp.join(data_root, gt_path)
        if not osp.isfile(gt_path):
            raise FlowProbeError(f'{gt_path}: flow ground truth of sample '
                                 f'{info["token"]} does not exist')
        with np.load(gt_path) as gt:
            flow = gt['flow']
        results = dataset[i]
        points = results['points'].tensor.float()
        if len(flow) != len(points):
            raise FlowProbeError(
                f'{gt_path}: {len(flow)} flow rows for {len(points)} points '
                f'of sample {info["token"]}')
        scans.append(
            dict(
                token=info['token'],
                points=points,
                points_next=results['points_next'].tensor.float(),
                flow=torch.from_numpy(flow).float()))
    return scans


class FrozenStudent:
    """mmdet3d's MinkUNet backbone as the demo fine-tuning builds it,
    frozen, giving each point its voxel's last-stage feature.

    Args:
        checkpoint (str, optional): An exported student
            (``hilda_to_mmdet3d.py --target minkunet``); None keeps the
            random initialisation (of the current torch seed).
    """

    def __init__(self, checkpoint: Optional[str]) -> None:
        from mmdet3d.registry import MODELS
        from mmengine.config import Config

        _register()
        cfg = Config.fromfile(MODEL_CONFIG).model
        cfg.backbone.init_cfg = None if checkpoint is None else dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')
        model = MODELS.build(cfg)
        model.init_weights()
        self.preprocessor = model.data_preprocessor
        self.backbone = model.backbone
        self.backbone.eval()
        self.preprocessor.eval()
        self.channels = cfg.decode_head.channels

    @torch.no_grad()
    def __call__(self, points: Tensor) -> Tensor:
        """(N, C) features of one scan's (N, 4) points."""
        from mmdet3d.structures import Det3DDataSample
        sample = Det3DDataSample()
        data = self.preprocessor(
            dict(inputs=dict(points=[points]), data_samples=[sample]))
        voxels = data['inputs']['voxels']
        feats = self.backbone(voxels['voxels'], voxels['coors'])
        return feats[data['data_samples'][0].point2voxel_map]


def pool_cells(xyz: Tensor, feats: Tensor, cell: float):
    """Mean position and feature of the points of each ``cell``-sized
    voxel; returns ``(centres (M, 3), feats (M, C))``."""
    keys = torch.floor(xyz / cell).long()
    _, inverse = torch.unique(keys, dim=0, return_inverse=True)
    num = int(inverse.max()) + 1
    count = torch.zeros(num).index_add_(0, inverse, torch.ones(len(xyz)))
    centres = torch.zeros(num, 3).index_add_(0, inverse, xyz)
    pooled = torch.zeros(num, feats.shape[1]).index_add_(0, inverse, feats)
    return centres / count[:, None], pooled / count[:, None]


def neighbours(query: Tensor, ref: Tensor, k: int) -> Tensor:
    """(Q, k) indices of the ``k`` nearest ``ref`` points of each query
    (scipy's KD-tree; ``k`` is capped at ``len(ref)``)."""
    from scipy.spatial import cKDTree
    k = min(k, len(ref))
    _, idx = cKDTree(ref.numpy()).query(query.numpy(), k=k)
    return torch.from_numpy(np.asarray(idx).reshape(len(query), k)).long()


class FlowProbeHead(nn.Module):
    """Soft correspondence plus residual, from frozen features.

    Args:
        channels (int): Feature channels C.
        hidden (int): Hidden width of both MLPs. Defaults to 32.
    """

    def __init__(self, channels: int, hidden: int = 32) -> None:
        super().__init__()
        self.score = nn.Sequential(
            nn.Linear(2 * channels + 3, hidden), nn.ReLU(),
            nn.Linear(hidden, 1))
        self.residual = nn.Sequential(
            nn.Linear(2 * channels + 3, hidden), nn.ReLU(),
            nn.Linear(hidden, 3))

    def forward(self, f0: Tensor, f1: Tensor, offsets: Tensor) -> Tensor:
        """Flow (P, 3) of P points from their features f0 (P, C), their
        neighbours' features f1 (P, K, C) and offsets (P, K, 3)."""
        pair = torch.cat([f0[:, None].expand_as(f1), f1, offsets], -1)
        weight = self.score(pair).softmax(1)
        matched = (weight * offsets).sum(1)
        context = (weight * f1).sum(1)
        return matched + self.residual(torch.cat([f0, context, matched], -1))


class SceneFlowProbe:
    """Extract, train, evaluate (see the module docstring).

    Args:
        match_voxel (float): Cell of the t+1 pooling (m). Defaults to 0.5.
        num_neighbours (int): Candidate cells per t0 point. Defaults to 16.
        points_per_scan (int): Training points per scan. Defaults to 1024.
        steps (int): Adam steps (one training scan each). Defaults to 300.
        lr (float): Adam learning rate. Defaults to 3e-3.
        moving_threshold (float): |flow| (m) above which a point moves.
            Defaults to 0.1, as the demo statistics count moving points.
        seed (int): Seed of the point sampling, the scan order and the
            head's initialisation. Defaults to 0.
    """

    def __init__(self,
                 match_voxel: float = 0.5,
                 num_neighbours: int = 16,
                 points_per_scan: int = 1024,
                 steps: int = 300,
                 lr: float = 3e-3,
                 moving_threshold: float = 0.1,
                 seed: int = 0) -> None:
        self.match_voxel = match_voxel
        self.num_neighbours = num_neighbours
        self.points_per_scan = points_per_scan
        self.steps = steps
        self.lr = lr
        self.moving_threshold = moving_threshold
        self.seed = seed

    def scan_inputs(self,
                    student,
                    scan: dict,
                    select: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Features, neighbour features and offsets of a scan's points
        (of ``select`` only, when given), and their flow."""
        f0 = student(scan['points'])
        f1 = student(scan['points_next'])
        centres, pooled = pool_cells(scan['points_next'][:, :3], f1,
                                     self.match_voxel)
        xyz = scan['points'][:, :3]
        flow = scan['flow']
        if select is not None:
            xyz, f0, flow = xyz[select], f0[select], flow[select]
        idx = neighbours(xyz, centres, self.num_neighbours)
        return dict(
            f0=f0,
            f1=pooled[idx],
            offsets=centres[idx] - xyz[:, None],
            flow=flow)

    def training_points(self, scan: dict, gen: torch.Generator) -> Tensor:
        """Up to half moving points, the rest static ones."""
        speed = scan['flow'].norm(dim=1)
        finite = torch.isfinite(speed)
        moving = torch.nonzero(finite & (speed > self.moving_threshold))[:, 0]
        static = torch.nonzero(finite & (speed <= self.moving_threshold))[:, 0]
        half = self.points_per_scan // 2
        moving = moving[torch.randperm(len(moving), generator=gen)[:half]]
        rest = self.points_per_scan - len(moving)
        static = static[torch.randperm(len(static), generator=gen)[:rest]]
        return torch.cat([moving, static])

    def balanced_l1(self, pred: Tensor, flow: Tensor) -> Tensor:
        error = (pred - flow).norm(dim=1)
        moving = flow.norm(dim=1) > self.moving_threshold
        parts = [error[m].mean() for m in (moving, ~moving) if m.any()]
        return torch.stack(parts).mean()

    def run(self,
            student,
            train_scans: List[dict],
            val_scans: List[dict],
            progress=None) -> Dict[str, float]:
        """Train the head on ``train_scans``, return the EPE on
        ``val_scans``: ``epe``, ``epe_moving``, ``epe_static`` and the
        zero-flow ``epe_zero``, ``epe_zero_moving`` (m), ``num_points``,
        ``num_moving``.

        Args:
            student (callable): (N, 4) points -> (N, C) features, with
                ``channels`` = C: a :class:`FrozenStudent`.
            train_scans, val_scans (list[dict]): From
                :func:`load_flow_scans`.
            progress (callable, optional): Called as ``progress(phase,
                done, total)``: phase ``'test'`` while extracting the
                training scans' features, ``'train'`` every 50 head steps,
                ``'val'`` per held-out scan.
        """
        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        report = progress or (lambda *status: None)
        train = []
        for i, scan in enumerate(train_scans):
            report('test', i + 1, len(train_scans))
            train.append(
                self.scan_inputs(student, scan,
                                 self.training_points(scan, gen)))
        head = FlowProbeHead(student.channels)
        optim = torch.optim.Adam(head.parameters(), lr=self.lr)
        order = torch.randint(len(train), (self.steps, ), generator=gen)
        for step, i in enumerate(order.tolist()):
            batch = train[i]
            loss = self.balanced_l1(
                head(batch['f0'], batch['f1'], batch['offsets']),
                batch['flow'])
            optim.zero_grad()
            loss.backward()
            optim.step()
            if (step + 1) % 50 == 0 or step + 1 == self.steps:
                report('train', step + 1, self.steps)
        return self.evaluate(student, head, val_scans, report)

    @torch.no_grad()
    def evaluate(self, student, head: FlowProbeHead, scans: List[dict],
                 report) -> Dict[str, float]:
        errors, zero, moving = [], [], []
        for i, scan in enumerate(scans):
            report('val', i + 1, len(scans))
            valid = torch.nonzero(torch.isfinite(scan['flow']).all(1))[:, 0]
            inputs = self.scan_inputs(student, scan, valid)
            flow = inputs['flow']
            pred = torch.cat([
                head(*[inputs[k][s:s + 8192] for k in ('f0', 'f1', 'offsets')])
                for s in range(0, len(flow), 8192)
            ])
            errors.append((pred - flow).norm(dim=1))
            zero.append(flow.norm(dim=1))
            moving.append(flow.norm(dim=1) > self.moving_threshold)
        errors, zero, moving = map(torch.cat, (errors, zero, moving))
        return dict(
            epe=float(errors.mean()),
            epe_moving=float(errors[moving].mean())
            if moving.any() else float('nan'),
            epe_static=float(errors[~moving].mean()),
            epe_zero=float(zero.mean()),
            epe_zero_moving=float(zero[moving].mean())
            if moving.any() else float('nan'),
            num_points=int(len(errors)),
            num_moving=int(moving.sum()))
