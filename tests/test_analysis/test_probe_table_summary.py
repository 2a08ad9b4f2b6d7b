# Copyright (c) HilDA authors. All rights reserved.
"""probe_table's plan, configs and summary, without training anything."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from projects.HilDA.analysis import jobs
from projects.HilDA.analysis.probe_table import plan as pt
from projects.HilDA.analysis.probe_table import report


def args_for(tmp_path, *extra):
    return pt.parse_args(['--work-dir', str(tmp_path), *extra])


def test_plan_seeds_only_the_seeded_rows_and_pairs_their_downstream(tmp_path):
    args = args_for(tmp_path, '--shares', '1', '100')
    runs = pt.plan(args)
    students = {j['name'] for j in runs['pretrain']}
    assert 'hilda-noprevgrad' not in args.variants  # a setting, on request
    for variant in args.variants:
        seeds = [0, 1, 2] if variant in pt.SEEDED else [0]
        names = {pt.student_name(variant, s) for s in seeds}
        assert names <= set(runs['after'])
        if variant != pt.RANDOM:
            assert names <= students
    assert 'random_p0' not in students
    # each pre-training seed p has its own downstream seed 100 p
    jobs = runs['after']['hilda_p2']
    assert {j['seed'] for j in jobs} == {200}
    kinds = [(j['kind'], j.get('protocol'), j.get('share')) for j in jobs
             if '_it' not in j['name']]
    assert sorted(
        kinds, key=str) == sorted(
            [('downstream', p, s) for p in ('linear', 'finetune')
             for s in (1.0, 100.0)] + [('flow', None, None)],
            key=str)


def test_seeded_option_gives_chosen_rows_every_seed(tmp_path):
    args = args_for(tmp_path, '--variants', 'hilda', 'hilda-multilevel',
                    'hilda-epsonly', '--seeded', 'hilda-multilevel',
                    '--pretrain-seeds', '1', '2')
    students = {j['name'] for j in pt.plan(args)['pretrain']}
    # full, the reference of the paired differences, gets every seed too.
    assert students == {
        'hilda-multilevel_p1', 'hilda-multilevel_p2', 'hilda_p1', 'hilda_p2',
        'hilda-epsonly_p1'
    }


def test_curve_probes_intermediate_checkpoints_of_one_run_each(tmp_path):
    args = args_for(tmp_path, '--pretrain-iters', '150', '--curve-every', '50')
    runs = pt.plan(args)
    by_name = {j['name']: j for j in runs['pretrain']}
    assert sorted(by_name['hilda_p0']['exports']) == [50, 100, 150]
    assert sorted(by_name['hilda-nodiff_p0']['exports']) == [50, 100, 150]
    assert sorted(by_name['hilda_p1']['exports']) == [150]
    assert sorted(by_name['hilda-lastlevel_p0']['exports']) == [150]
    curve_jobs = [
        j['name'] for j in runs['after']['hilda_p0'] if '_it' in j['name']
    ]
    assert curve_jobs == [
        'hilda_p0_it50_linear_100pct_d0', 'hilda_p0_it100_linear_100pct_d0'
    ]


@pytest.mark.parametrize(
    'variant',
    ['hilda', 'hilda-lastlevel', 'hilda-occdecoder', 'hilda-4levels'])
def test_pretrain_config_is_the_variant_file_plus_shared_settings(
        tmp_path, variant):
    args = args_for(tmp_path, '--pretrain-iters', '40')
    cfg = pt.pretrain_config(variant, 3, args, '/cache', 20)
    own = Config.fromfile(pt.VARIANTS[variant].config)
    assert cfg.model.to_dict() == own.model.to_dict()
    assert cfg.train_cfg.max_iters == 40
    assert cfg.randomness.seed == 3
    assert cfg.default_hooks.checkpoint.interval == 20
    steps = {s['type']: s for s in cfg.train_dataloader.dataset.pipeline}
    assert steps['LoadTeacherFeatures']['cache_dir'] == '/cache'
    assert cfg.train_dataloader.dataset.data_root == args.data_root


def fake_results(args, offsets):
    """Downstream/flow results: row value = 50 + offset + noise(p, d)."""
    results = {}
    for variant, offset in offsets.items():
        for p in pt.pretrain_seeds(variant, args):
            student = pt.student_name(variant, p)
            for d in pt.downstream_seeds(p, args):
                noise = 0.01 * p  # shared by every row at the same pair
                for protocol in args.protocols:
                    for share in args.shares:
                        results[pt.downstream_name(
                            student, protocol, share, d)] = dict(
                                metrics=dict(
                                    miou=0.5 + offset + noise,
                                    car=0.4 + offset,
                                    pedestrian=0.1))
                results[pt.flow_name(student, d)] = dict(
                    metrics=dict(
                        epe=0.2 + offset,
                        epe_moving=0.9 + offset,
                        epe_zero=0.25,
                        epe_zero_moving=1.5))
    return results


def test_summary_paired_differences_cancel_the_shared_seed_noise(tmp_path):
    args = args_for(tmp_path, '--shares', '1', '100', '--curve-every', '0')
    offsets = {v: 0.0 for v in pt.VARIANTS}
    offsets.update({'hilda-lastlevel': -0.05, 'hilda-nodiff': -0.02})
    summary = report.summarise(fake_results(args, offsets), args)
    cell = summary['components']['hilda-lastlevel'][('linear', 1.0)]
    mean, std, n = cell['stats']
    assert n == 3 and std == pytest.approx(100 * np.std([0, .01, .02], ddof=1))
    assert mean == pytest.approx(45.0 + 1.0)
    d_mean, d_std, d_n = cell['paired']
    assert (d_mean, d_n) == (pytest.approx(-5.0), 3)
    assert d_std == pytest.approx(0.0, abs=1e-9)
    # unseeded rows pair with full HilDA's first seed only
    assert summary['levels']['hilda-4levels'][('linear',
                                               1.0)]['paired'][2] == 1
    assert summary['components']['hilda'][('linear', 1.0)]['paired'] is None
    flow = summary['diffusion']['hilda-nodiff'][('flow', 'epe_moving')]
    assert flow['paired'][0] == pytest.approx(-2.0)


def test_tables_have_a_row_per_variant_and_a_column_per_measure(tmp_path):
    args = args_for(tmp_path, '--shares', '1', '100')
    results = fake_results(args, {v: 0.0 for v in pt.VARIANTS})
    summary = report.summarise(results, args)
    classes = {
        ('linear', 100.0): report.per_class(results, args, 'linear', 100)
    }
    zero = report.zero_flow(results)
    assert zero == dict(epe_moving=150.0, epe=25.0)
    text = report.format_tables(summary, classes, {'hilda': {
        50: 1.0
    }}, args, zero)
    assert 'flow EPE of 150.0 cm on the moving and 25.0 cm' in text
    assert summary['settings'] == {}  # only full HilDA of it ran
    assert pt.QUESTIONS['settings'][0] not in text
    for question, (title, rows) in pt.QUESTIONS.items():
        if question == 'settings':
            continue
        section = text.split(f'**{title}**')[1].split('*')[0]
        lines = [r for r in section.splitlines() if r.startswith('| ')]
        header = [c.strip() for c in lines[0].split('|')[2:-1]]
        assert header == [report.column_label(c) for c in report.columns(args)]
        assert len(header) == 2 * 2 + 2  # 2 protocols x 2 shares + flow
        # the question's rows that ran (optional rows only on request)
        assert [r.split('|')[1].strip() for r in lines[1:]] == [
            pt.VARIANTS[r].label for r in rows if r in args.variants
        ]
    assert '| car | pedestrian |' in text
    path = tmp_path / 'plot.png'
    report.plot(summary, {'hilda': {50: 1.0, 100: 2.0}}, args, str(path))
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_a_finished_run_of_another_budget_is_not_reused(tmp_path):
    job = jobs.Job(
        name='hilda_p0_linear_100pct_d0',
        target=jobs.run_command,
        spec={},
        iters=40,
        log=str(tmp_path / '*.log'),
        work_dir=str(tmp_path),
        budget=dict(iters=40))
    (tmp_path / 'result.json').write_text(
        '{"name": "hilda_p0_linear_100pct_d0", "budget": {"iters": 40}, '
        '"metrics": {"miou": 0.5}}')
    assert jobs.earlier_result(job)['metrics']['miou'] == 0.5
    job.budget = dict(iters=200)
    with pytest.raises(jobs.JobError, match=r"result\.json.*'iters': 40"):
        jobs.earlier_result(job)


def test_rows_are_named_after_their_config_files():
    for name, variant in pt.VARIANTS.items():
        if variant.config is None:
            assert name == pt.RANDOM
        else:
            assert osp.basename(variant.config).startswith(name + '_')
    assert pt.REFERENCE == 'hilda'


def test_ptv3_student_pairs_random_init_and_hilda_with_every_seed(tmp_path):
    args = args_for(tmp_path, '--student', 'ptv3', '--pretrain-seeds', '0',
                    '1')
    assert args.variants == [pt.RANDOM, pt.REFERENCE]
    runs = pt.plan(args)
    assert {j['name'] for j in runs['pretrain']} == {'hilda_p0', 'hilda_p1'}
    assert {'random_p0', 'random_p1'} <= set(runs['after'])


def test_ptv3_student_refuses_the_minkunet_ablation_rows(tmp_path):
    with pytest.raises(pt.ConfigError, match='ptv3 has no row hilda-nodiff'):
        args_for(tmp_path, '--student', 'ptv3', '--variants', 'hilda',
                 'hilda-nodiff')


def test_ptv3_student_pretrains_and_probes_ptv3(tmp_path):
    args = args_for(tmp_path, '--student', 'ptv3')
    pre = pt.pretrain_config('hilda', 1, args, str(tmp_path / 'cache'))
    assert pre.model.student.type == 'MultiLevelPTv3'
    assert pre.model.student.enc_channels == (16, 32, 64, 128)
    cache = [s for s in pre.train_dataloader.dataset.pipeline
             if s['type'] == 'LoadTeacherFeatures']
    assert cache[0]['cache_dir'] == str(tmp_path / 'cache')
    tuned = pt.downstream_config('finetune', 'w.pth', None, 0, args)
    assert tuned.model.backbone.type == 'PointTransformerV3'
    assert tuned.model.backbone.init_cfg.checkpoint == 'w.pth'
    probe = pt.downstream_config('linear', None, None, 0, args)
    assert probe.model.backbone.type == 'PointTransformerV3'
    assert probe.model.backbone.init_cfg is None
    hooks = [h['type'] for h in probe.custom_hooks]
    assert 'FreezeModulesHook' in hooks
    assert 'PretrainedWeightsCheckHook' not in hooks


def test_ptv3_runs_export_for_ptv3_and_are_not_reused_as_minkunet(tmp_path):
    from projects.HilDA.analysis.probe_table import run
    args = args_for(tmp_path, '--student', 'ptv3', '--variants', 'hilda',
                    '--pretrain-seeds', '0', '--no-flow')
    job = run.to_job(pt.plan(args)['pretrain'][0], args,
                     str(tmp_path / 'cache'), {})
    assert job.spec['target'] == 'ptv3'
    assert job.budget == dict(iters=150, student='ptv3')
    minkunet = dict(job.spec, student=pt.DEFAULT_STUDENT)
    # MinkUNet runs record no student (work dirs from before the option).
    assert run.budget(minkunet) == dict(iters=150)
