# Copyright (c) HilDA authors. All rights reserved.
import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.runner import set_random_seed

from tests.helpers.tiny_hilda import tiny_dataset, tiny_model_cfg


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    return tiny_dataset(tmp_path_factory.mktemp('seq'))


def preprocessed_batch(model, dataset, indices=(1, 2)):
    data = pseudo_collate([dataset[i] for i in indices])
    return model.data_preprocessor(data, training=True)


def test_each_loss_reaches_the_student_and_none_the_teacher(dataset):
    set_random_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.train()
    batch = preprocessed_batch(model, dataset)
    losses = model(**batch, mode='loss')
    assert {
        'loss_distill_l0', 'loss_distill_l1', 'loss_cls', 'loss_diffusion',
        'loss_diffusion_x0', 'diff_valid'
    } == set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    student_params = [p for p in model.student.parameters()]
    for name in ('loss_distill_l1', 'loss_cls', 'loss_diffusion',
                 'loss_diffusion_x0'):
        model.zero_grad(set_to_none=True)
        losses[name].backward(retain_graph=True)
        reached = sum(p.grad.abs().sum().item() for p in student_params
                      if p.grad is not None)
        assert reached > 0, f'{name} does not reach the student'
        assert all(p.grad is None for p in model.teacher.parameters())


def run_three_steps(dataset):
    set_random_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.init_weights()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    history = []
    for step in range(3):
        set_random_seed(step)  # data augmentation draws from numpy
        data = pseudo_collate([dataset[1], dataset[2]])
        log_vars = model.train_step(data, optim)
        history.append({k: v.item() for k, v in log_vars.items()})
    return history


def test_same_seed_gives_identical_losses(dataset):
    first, second = run_three_steps(dataset), run_three_steps(dataset)
    assert first == second
    assert first[0] != first[2]  # the model did train


def test_teacher_is_frozen_and_left_out_of_checkpoints(dataset):
    model = MODELS.build(tiny_model_cfg())
    model.train()
    assert not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    state = model.state_dict()
    assert not any(k.startswith('teacher.') for k in state)
    # Loading that checkpoint back restores everything, teacher included.
    other = MODELS.build(tiny_model_cfg())
    other.load_state_dict(state, strict=True)
    for key, value in model.student.state_dict().items():
        torch.testing.assert_close(other.student.state_dict()[key], value)


def masked_model_and_batch(tmp_path, voxel_size=None):
    """The tiny pre-trainer in masked mode (2x2-cell patches, half of them
    masked) and a preprocessed batch of two single-frame samples."""
    set_random_seed(0)
    cfg = tiny_model_cfg()
    if voxel_size is not None:
        voxel_layer = cfg['data_preprocessor']['voxel_layer']
        voxel_layer['voxel_size'] = [voxel_size] * 3
    cfg['diffusion_head'] = dict(
        cfg['diffusion_head'],
        mode='masked',
        mask_patch_size=2,
        mask_ratio=0.5)
    model = MODELS.build(cfg)
    dataset = tiny_dataset(tmp_path, temporal=False, num_frames=2)
    return model, preprocessed_batch(model, dataset, indices=(0, 1))


def test_masked_mode_hides_patches_from_the_student(tmp_path):
    model, batch = masked_model_and_batch(tmp_path)
    assert 'points_prev' not in batch['inputs']
    losses = model(**batch, mode='loss')
    assert torch.isfinite(losses['loss_diffusion'])
    assert losses['loss_diffusion'].requires_grad


def test_student_teacher_level_mismatch_is_a_clear_error():
    cfg = tiny_model_cfg()
    cfg['teacher'] = dict(cfg['teacher'], num_levels=3)
    with pytest.raises(ValueError, match='2 levels.*gives 3'):
        MODELS.build(cfg)


def test_normalisation_must_match_the_teacher():
    cfg = tiny_model_cfg()
    cfg['data_preprocessor'] = dict(
        cfg['data_preprocessor'], mean=[127.0] * 3, std=[128.0] * 3)
    with pytest.raises(ValueError, match='DINOv2Teacher expects mean'):
        MODELS.build(cfg)


def test_ablation_without_cls_and_diffusion_builds_only_the_distill_head():
    model = MODELS.build(
        tiny_model_cfg(global_token=None, diffusion_head=None))
    assert model.global_token is None and model.diffusion_head is None
    assert model.distill_head is not None


def test_every_objective_off_is_a_clear_error():
    with pytest.raises(ValueError, match='every objective is switched off'):
        MODELS.build(
            tiny_model_cfg(
                distill_head=None, global_token=None, diffusion_head=None))


def test_without_temporal_diffusion_t_minus_1_is_not_voxelised(dataset):
    model = MODELS.build(tiny_model_cfg(diffusion_head=None))
    batch = preprocessed_batch(model, dataset)
    assert 'points_prev' not in batch['inputs']
    assert set(batch['inputs']['voxels']['coors'][:, 0].tolist()) == {0, 1}
    losses = model(**batch, mode='loss')
    assert 'loss_diffusion' not in losses


def test_detection_student_pretrains_through_the_same_pretrainer(dataset):
    """SECOND's SparseEncoder as the student: fixed-grid (b, z, y, x)
    voxels from the preprocessor, every loss reaches it."""
    from projects.HilDA.hilda.models import sparse_shape_from_range
    from tests.helpers.tiny_hilda import OCC_RANGE, voxel_layer
    set_random_seed(0)
    voxel_size = [0.5, 0.5, 0.5]
    cfg = tiny_model_cfg()
    cfg['data_preprocessor'] = dict(
        cfg['data_preprocessor'],
        voxel_type='sparse_encoder',
        voxel_layer=voxel_layer(voxel_size[0], OCC_RANGE))
    cfg['student'] = dict(
        type='PointSparseEncoder',
        in_channels=4,
        sparse_shape=sparse_shape_from_range(OCC_RANGE, voxel_size),
        num_levels=2,
        return_bev=False)
    model = MODELS.build(cfg)
    model.train()
    batch = preprocessed_batch(model, dataset)
    coors = batch['inputs']['voxels']['coors']
    assert set(coors[:, 0].tolist()) == {0, 1, 2, 3}  # t0 and t-1
    losses = model(**batch, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    for name in ('loss_distill_l0', 'loss_cls', 'loss_diffusion'):
        model.zero_grad(set_to_none=True)
        losses[name].backward(retain_graph=True)
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in model.student.parameters()), name


def test_slidr_style_infonce_uses_batch_unique_superpixels(tmp_path):
    """The SLidR ablation: superpixels from the pipeline, InfoNCE on the
    last level; ids of different samples/cameras never collide."""
    from tests.helpers.tiny_hilda import tiny_dataset, tiny_pipeline
    set_random_seed(0)
    model = MODELS.build(
        tiny_model_cfg(
            global_token=None,
            diffusion_head=None,
            distill_head=dict(
                type='HierarchicalDistillHead',
                loss=dict(type='SuperpixelInfoNCELoss'))))
    dataset = tiny_dataset(tmp_path)
    pipeline = tiny_pipeline()
    pipeline.insert(4, dict(type='ImageSuperpixels', num_segments=8))
    from mmengine.dataset import Compose
    dataset.pipeline = Compose(pipeline)
    batch = preprocessed_batch(model, dataset)
    captured = {}
    original = model.distill_head.loss

    def spy(*args, **kwargs):
        captured.update(kwargs)
        return original(*args, **kwargs)

    model.distill_head.loss = spy
    losses = model(**batch, mode='loss')
    assert torch.isfinite(sum(losses.values()))
    superpixel = captured['superpixel']
    assert len(superpixel) == len(captured['img_idx']) > 0
    # Each id encodes the image (sample, camera) its pixel lies in.
    samples = batch['data_samples']
    num_segments = 1 + max(int(s.superpixels.max()) for s in samples)
    assert torch.equal(superpixel // num_segments, captured['img_idx'])


def _same_models(**overrides):
    """The tiny model twice with the same weights, BatchNorm on running
    statistics (so one batched and two separate student passes agree)."""
    set_random_seed(0)
    reference = MODELS.build(tiny_model_cfg())
    other = MODELS.build(tiny_model_cfg(**overrides))
    other.load_state_dict(reference.state_dict())
    # The frozen teacher stays out of state dicts.
    other.teacher.load_state_dict(reference.teacher.state_dict())
    for model in (reference, other):
        model.train()
        model.student.eval()
    return reference, other


def _student_grads(model, batch, loss_name, iteration):
    # The diffusion noise is keyed by the iteration: the same at the same
    # iteration for every model.
    MessageHub.get_current_instance().update_info('iter', iteration)
    model.zero_grad(set_to_none=True)
    model(**batch, mode='loss')[loss_name].backward()
    return [p.grad for p in model.student.parameters()]


def test_prev_grad_false_gives_the_same_losses(dataset):
    batched, split = _same_models(prev_grad=False)
    batch = preprocessed_batch(batched, dataset)
    expected = batched(**batch, mode='loss')
    got = split(**batch, mode='loss')
    assert set(got) == set(expected)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name])


def test_prev_grad_false_back_propagates_through_t0_only(dataset):
    batched, split = _same_models(prev_grad=False)
    detached, _ = _same_models()  # the same weights again
    batch = preprocessed_batch(batched, dataset)

    original = detached.diffusion_inputs

    def detached_prev(*args, **kwargs):
        kwargs = original(*args, **kwargs)
        kwargs['feats_prev'] = kwargs['feats_prev'].detach()
        return kwargs

    detached.diffusion_inputs = detached_prev
    # The gradient is the batched pass's with the t-1 features detached...
    got = _student_grads(split, batch, 'loss_diffusion', 1)
    expected = _student_grads(detached, batch, 'loss_diffusion', 1)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e)
    # ... not the gradient through both scans.
    through_both = _student_grads(batched, batch, 'loss_diffusion', 1)
    assert any(not torch.allclose(g, b) for g, b in zip(got, through_both)
               if g is not None)


def test_paper_global_token_pools_h_cls_of_the_t0_points(dataset):
    """Pooling each last-level voxel that holds a t0 point once gives the
    max over the t0 points' H_CLS outputs, per sample."""
    from projects.HilDA.hilda.models.utils import segment_max
    set_random_seed(0)
    model = MODELS.build(tiny_model_cfg())
    batch = preprocessed_batch(model, dataset)
    samples = batch['data_samples']
    out, levels, sizes = model.student_levels(batch['inputs'], samples)
    t0 = levels.select(slice(0, sum(sizes[:2])))
    feats, batch_idx = model.global_token_inputs(out, t0, sizes[:2])
    assert len(feats) < len(t0.index[-1])  # voxels, not points
    token = model.global_token(feats, batch_idx, 2)
    point_batch = torch.repeat_interleave(
        torch.arange(2), torch.tensor(sizes[:2]))
    valid = t0.valid(-1)
    expected = segment_max(
        model.global_token.cls_head(t0.gather(-1, valid)), point_batch[valid],
        2)
    torch.testing.assert_close(token, expected)


def test_bottleneck_token_option_reads_the_bottleneck(dataset):
    set_random_seed(0)
    cfg = tiny_model_cfg(
        global_token=dict(
            type='GlobalTokenHead',
            pooling='attention',
            num_heads=2,
            feature_level='bottleneck',
            camera_pooling='mean',
            loss=dict(type='CosineDistanceLoss')),
        diffusion_head=None)
    model = MODELS.build(cfg)
    assert model.global_token.key.in_features == \
        model.student.bottleneck_channels
    batch = preprocessed_batch(model, dataset)
    losses = model(**batch, mode='loss')
    assert torch.isfinite(losses['loss_cls'])


def test_each_head_weights_its_own_loss(dataset):
    """No weights in the pre-trainer: a head's loss_weight scales exactly
    its own losses."""
    set_random_seed(0)
    base = MODELS.build(tiny_model_cfg(diffusion_head=None))
    heavy_cfg = tiny_model_cfg(diffusion_head=None)
    heavy_cfg['global_token'] = dict(
        heavy_cfg['global_token'],
        loss=dict(type='FeatureMSELoss', loss_weight=4.0))
    heavy = MODELS.build(heavy_cfg)
    heavy.load_state_dict(base.state_dict())
    heavy.teacher.load_state_dict(base.teacher.state_dict())
    for model in (base, heavy):
        model.eval()
    batch = preprocessed_batch(base, dataset)
    expected = base(**batch, mode='loss')
    got = heavy(**batch, mode='loss')
    torch.testing.assert_close(got['loss_cls'], 4 * expected['loss_cls'])
    for name in ('loss_distill_l0', 'loss_distill_l1'):
        torch.testing.assert_close(got[name], expected[name])


def test_pairs_of_points_without_a_feature_are_left_out():
    from projects.HilDA.hilda.models.pretrainers import HilDAPretrainer
    from projects.HilDA.hilda.structures import PointLevels
    levels = PointLevels([torch.randn(2, 3)], [torch.tensor([0, -1, 1])])
    pairs = dict(
        point_idx=torch.tensor([2, 1, 0, 1]),
        img_idx=torch.tensor([0, 1, 2, 3]),
        uv=torch.zeros(4, 2),
        superpixel=None)
    kept = HilDAPretrainer.distill_pairs(dict(pairs=pairs), levels)
    assert kept['point_idx'].tolist() == [2, 0]
    assert kept['img_idx'].tolist() == [0, 2]
    assert kept['superpixel'] is None


def test_masked_mode_drops_every_voxel_with_a_point_in_a_masked_cell(tmp_path):
    """1.5 m voxels straddle the 4 m BEV cells, so deciding by one point of
    a voxel would leave points of masked cells with a student feature."""
    from projects.HilDA.hilda.models.pretrainers.hilda_pretrainer import \
        drop_voxels
    from projects.HilDA.hilda.structures.bev_grid import bev_cell_index
    model, batch = masked_model_and_batch(tmp_path, voxel_size=1.5)
    inputs, samples = batch['inputs'], batch['data_samples']
    keep, bev_mask = model.patch_mask(inputs, samples)
    voxels = inputs['voxels']
    _, _, maps = drop_voxels(voxels['voxels'], voxels['coors'],
                             [s.point2voxel_map for s in samples], keep)
    head = model.diffusion_head
    for b, (points, point_map) in enumerate(zip(inputs['points'], maps)):
        iy, ix, inside = bev_cell_index(
            points, head.point_cloud_range, head.cell_size, check_z=False)
        in_masked = inside & (
            bev_mask[b, 0, iy.clamp(0, 15),
                     ix.clamp(0, 15)] > 0)
        assert in_masked.any()
        assert (point_map[in_masked] == -1).all(), 'masked points leak'
        assert (point_map[~in_masked & inside] >= 0).any()
