# Copyright (c) HilDA authors. All rights reserved.
"""The scene-flow probe: its data, and a head that reads flow from
features that carry it."""
import numpy as np
import pytest
import torch

from projects.HilDA.analysis.scene_flow_probe import (FlowProbeError,
                                                      FrozenStudent,
                                                      SceneFlowProbe,
                                                      load_flow_scans)
from tests.helpers.tiny_demo_world import tiny_demo_root


def synthetic_scan(seed):
    """Ground points (static) and a 2 m box moving 1.5 m along x."""
    gen = np.random.default_rng(seed)
    ground = np.c_[gen.uniform(-10, 10, (3000, 2)), np.zeros(3000)]
    box0 = gen.uniform(-1, 1, (600, 3)) + [0, 3, 1]
    points = np.r_[ground, box0]
    flow = np.zeros_like(points)
    flow[3000:, 0] = 1.5
    ground_next = np.c_[gen.uniform(-10, 10, (3000, 2)), np.zeros(3000)]
    box1 = gen.uniform(-1, 1, (600, 3)) + [1.5, 3, 1]
    as_tensor = lambda a: torch.from_numpy(  # noqa: E731
        np.c_[a, np.zeros(len(a))]).float()
    return dict(
        token=str(seed),
        points=as_tensor(points),
        points_next=as_tensor(np.r_[ground_next, box1]),
        flow=torch.from_numpy(flow).float())


class ObjectnessStudent:
    """Features that say whether a point is on the box (z > 0.05)."""
    channels = 2

    def __call__(self, points):
        on_box = (points[:, 2] > 0.05).float()
        return torch.stack([on_box, 1 - on_box], 1)


class BlindStudent(ObjectnessStudent):

    def __call__(self, points):
        return torch.zeros(len(points), 2)


def run_probe(student):
    probe = SceneFlowProbe(points_per_scan=256, steps=150, seed=0)
    train = [synthetic_scan(s) for s in range(3)]
    return probe.run(student, train, [synthetic_scan(10)])


def test_probe_reads_flow_from_features_that_carry_it():
    good, blind = run_probe(ObjectnessStudent()), run_probe(BlindStudent())
    assert good['epe_zero_moving'] == pytest.approx(1.5)
    assert good['num_moving'] == 600
    # informative features: most of the motion is recovered, and better
    # than from features that say nothing
    assert good['epe_moving'] < 0.5 * good['epe_zero_moving']
    assert good['epe_moving'] < blind['epe_moving']


def test_demo_scans_have_flow_rows_and_t1_in_the_t0_frame():
    scans = load_flow_scans(tiny_demo_root(), 'nuscenes_infos_train.pkl')
    assert scans  # every scan but the scene's last has a t+1
    for scan in scans:
        assert scan['flow'].shape == (len(scan['points']), 3)
        assert torch.isfinite(scan['flow']).all()
        # static world points (flow 0) lie on the t+1 scan's surfaces:
        # ego motion is removed, so a t+1 point is close by (the tiny
        # LiDAR's beams are sparse: a few decimetres)
        static = scan['points'][scan['flow'].norm(dim=1) == 0][::50, :3]
        dist = torch.cdist(static, scan['points_next'][:, :3]).min(1)[0]
        assert dist.median() < 0.3


def test_frozen_random_student_gives_a_feature_per_point():
    scan = load_flow_scans(tiny_demo_root(), 'nuscenes_infos_val.pkl', 1)[0]
    student = FrozenStudent(None)
    feats = student(scan['points'])
    assert feats.shape == (len(scan['points']), student.channels)
    assert not feats.requires_grad


def test_scans_without_flow_ground_truth_are_named(tmp_path):
    import pickle
    root = tiny_demo_root()
    with open(f'{root}/nuscenes_infos_val.pkl', 'rb') as f:
        infos = pickle.load(f)
    for info in infos['data_list']:
        info.pop('demo_gt_path')
    ann_file = str(tmp_path / 'no_gt.pkl')  # absolute: beside no data
    with open(ann_file, 'wb') as f:
        pickle.dump(infos, f)
    with pytest.raises(FlowProbeError, match='no_gt.pkl.*demo_gt_path'):
        load_flow_scans(root, ann_file)
