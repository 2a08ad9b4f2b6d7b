# Copyright (c) HilDA authors. All rights reserved.
"""tools/finetune_demo.py (its plan, statistics, table, input checks and a
2-iteration run) and the demo detector through tools/train.py and
tools/test.py, on the tiny demo set with a few iterations."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from mmengine.config import Config

from projects.HilDA.analysis import jobs
from projects.HilDA.hilda.errors import ConfigError, HilDAError
from tests.conftest import REPO_ROOT, load_tool
from tests.helpers.fake_exports import (DEMO_MINKUNET, DEMO_SPARSE_ENCODER,
                                        fake_export)
from tests.helpers.tiny_demo_world import tiny_demo_root

DEMO_DET = osp.join(
    REPO_ROOT, 'configs', 'finetune',
    'centerpoint_voxel02-hilda_second_secfpn_1xb2-300iter'
    '_demo.py')
finetune_demo = load_tool('finetune_demo.py')


def run(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)


def demo_args(*extra):
    return finetune_demo.parse_args(
        ['--pretrained', 'w.pth', '--work-dir', 'wd', *extra])


def fake_results(mious):
    """{run name: result} from {(init, protocol, seed): mIoU (%)}."""
    args = demo_args()
    return {
        finetune_demo.run_name(init, protocol, seed, args):
        dict(metrics=dict(miou=value / 100))
        for (init, protocol, seed), value in mious.items()
    }


def test_plan_pairs_each_hilda_run_with_a_random_init_run():
    args = demo_args('--seeds', '2', '--share', '5', '--iters', '7')
    runs = finetune_demo.plan(args, '/abs/w.pth')
    assert len(runs) == 2 * 2 * 2  # seeds x protocols x inits
    assert len({r['name'] for r in runs}) == len(runs)
    for seed in (0, 1):
        for protocol, share in (('linear', 100.0), ('finetune', 5.0)):
            pair = [
                r for r in runs
                if r['seed'] == seed and r['protocol'] == protocol
            ]
            # the same split, seed (data order) and budget; only the
            # initialisation differs
            assert [r['checkpoint'] for r in pair] == ['/abs/w.pth', None]
            assert {r['share'] for r in pair} == {share}
            assert {r['iters'] for r in pair} == {7}
    assert finetune_demo.probe_args(args).shares == [5.0, 100.0]


def test_plan_runs_only_the_asked_protocols():
    args = demo_args('--seeds', '1', '--protocols', 'finetune', 'finetune')
    runs = finetune_demo.plan(args, 'w.pth')
    assert [(r['protocol'], r['share'])
            for r in runs] == [('finetune', 10.0)] * 2
    assert finetune_demo.probe_args(args).shares == [10.0]


def test_pair_stats_take_differences_seed_by_seed():
    results = fake_results({
        ('hilda', 'linear', 0): 15.0,
        ('random', 'linear', 0): 8.0,
        ('hilda', 'linear', 1): 14.0,
        ('random', 'linear', 1): 9.0,
        ('hilda', 'linear', 2): 16.0,  # its baseline is missing
    })
    pair = finetune_demo.pair_stats(results, 'linear', demo_args())
    assert pair['seeds'] == [0, 1]
    assert pair['diffs'] == pytest.approx([7.0, 5.0])
    mean, std, n = pair['diff']
    assert (mean, n) == (pytest.approx(6.0), 2)
    assert std == pytest.approx(2**0.5)  # sample std of 7 and 5
    assert pair['stats']['hilda'][0] == pytest.approx(14.5)
    assert pair['stats']['random'][0] == pytest.approx(8.5)


@pytest.mark.parametrize(
    'diffs, expected',
    [
        # mean 3, std 1, n 3: 3 -+ 4.30 / sqrt(3) = +0.5 to +5.5
        ([3.0, 2.0, 4.0], 'larger than its spread (95 % interval +0.5 to '
         '+5.5 over 3 seeds): HilDA is ahead of scratch'),
        ([-3.0, -2.0, -4.0], 'larger than its spread (95 % interval -5.5 to '
         '-0.5 over 3 seeds): HilDA is behind scratch'),
        ([2.0, -1.0, 1.0], 'within the spread'),
        # one sign in every seed, but the interval includes 0
        ([1.0, 5.0, 3.0], 'within the spread (95 % interval -2.0 to +8.0'),
        ([7.0, 5.0], 'within the spread'),  # two seeds: t = 12.7
        ([4.0], 'one seed')
    ])
def test_verdict_says_whether_the_difference_exceeds_its_spread(
        diffs, expected):
    assert finetune_demo.verdict(diffs, 'scratch').startswith(expected)


def test_table_and_summary_show_both_pairs_with_their_spread():
    args = demo_args('--seeds', '3')
    results = fake_results({
        **{
            ('hilda', 'linear', s): v
            for s, v in enumerate((15.0, 14.0, 16.0))
        },
        **{
            ('random', 'linear', s): v
            for s, v in enumerate((8.0, 9.0, 8.0))
        },
        **{
            ('hilda', 'finetune', s): v
            for s, v in enumerate((30.0, 33.0, 31.0))
        },
        **{
            ('random', 'finetune', s): v
            for s, v in enumerate((31.0, 30.0, 29.0))
        },
    })
    pairs = {
        p: finetune_demo.pair_stats(results, p, args)
        for p in ('linear', 'finetune')
    }
    scans = dict(linear='all 60 scans', finetune='6 of 60 scans')
    table = finetune_demo.format_table(pairs, scans, args)
    rows = [[c.strip() for c in line.split('|')[1:-1]]
            for line in table.splitlines()[3:]]
    assert rows[0] == [
        'linear probe', '100 % (all 60 scans)', '15.0 ± 1.0 (n=3)',
        'random init', '8.3 ± 0.6 (n=3)', '+7.0 / +5.0 / +8.0',
        '+6.7 ± 1.5 (n=3)'
    ]
    assert rows[1] == [
        'fine-tune', '10 % (6 of 60 scans)', '31.3 ± 1.5 (n=3)', 'scratch',
        '30.0 ± 1.0 (n=3)', '-1.0 / +3.0 / +2.0', '+1.3 ± 2.1 (n=3)'
    ]
    lines = finetune_demo.summary_lines(pairs, args)
    assert lines[0] == (
        'linear probe 100 %: HilDA - random init: +6.7 ± 1.5 mIoU points (3 '
        'seeds): larger than its spread (95 % interval +2.9 to +10.5 over 3 '
        'seeds): HilDA is ahead of random init')
    assert lines[1].startswith(
        'fine-tune 10 %: HilDA - scratch: +1.3 ± 2.1 mIoU points (3 seeds): '
        'within the spread (95 % interval -3.8 to +6.5')


def test_a_changed_budget_drops_the_earlier_result_only(tmp_path):
    made = []
    for name, earlier in (('same', dict(iters=2, weights_sha256='a')),
                          ('other', dict(iters=2, weights_sha256='b'))):
        work_dir = tmp_path / name
        work_dir.mkdir()
        (work_dir / 'result.json').write_text(json.dumps(dict(budget=earlier)))
        made.append(
            jobs.Job(
                name=name,
                target=jobs.run_command,
                spec={},
                iters=2,
                log='x.log',
                work_dir=str(work_dir),
                budget=dict(iters=2, weights_sha256='a')))
    assert finetune_demo.drop_stale_results(made) == ['other']
    assert (tmp_path / 'same' / 'result.json').is_file()
    assert not (tmp_path / 'other' / 'result.json').exists()


@pytest.mark.parametrize('flags, message', [
    (['--share', '0'], '--share must be in'),
    (['--share', '150'], '--share must be in'),
    (['--seeds', '0'], '--seeds must be >= 1'),
    (['--iters', '0'], '--iters must be >= 1'),
    (['--jobs', '0'], '--jobs must be >= 1'),
])
def test_bad_options_are_refused_before_any_run(tmp_path, flags, message):
    work_dir = tmp_path / 'ft'
    with pytest.raises(ConfigError, match=message):
        finetune_demo.main([
            '--pretrained',
            str(tmp_path / 'w.pth'), '--work-dir',
            str(work_dir), *flags
        ])
    assert not work_dir.exists()


def test_a_missing_pretrained_file_is_named(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(HilDAError, match=f'{missing} does not exist'):
        finetune_demo.main(
            ['--pretrained', missing, '--work-dir',
             str(tmp_path / 'ft')])
    assert not (tmp_path / 'ft').exists()


def test_missing_demo_data_is_named(tmp_path):
    export = str(tmp_path / 'minkunet.pth')
    fake_export(DEMO_MINKUNET, 'minkunet', export)
    with pytest.raises(HilDAError, match='nuscenes_infos_train.pkl does not'):
        finetune_demo.main([
            '--pretrained', export, '--work-dir',
            str(tmp_path / 'ft'), '--data-root',
            str(tmp_path)
        ])


def test_finetune_demo_runs_both_pairs_and_prints_the_comparison(tmp_path):
    export = str(tmp_path / 'minkunet.pth')
    fake_export(DEMO_MINKUNET, 'minkunet', export)
    work_dir = tmp_path / 'ft'
    result = run([
        osp.join(REPO_ROOT, 'tools', 'finetune_demo.py'), '--pretrained',
        export, '--work-dir',
        str(work_dir), '--iters', '2', '--seeds', '1', '--data-root',
        tiny_demo_root()
    ], str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [
        line.split('|')[1:-1] for line in result.stdout.splitlines()
        if line.startswith('|')
    ]
    assert [r[0].strip() for r in rows[2:]] == ['linear probe', 'fine-tune']
    assert re.search(
        r'^linear probe 100 %: HilDA - random init: [+-]\d+\.\d'
        r' ± 0\.0 mIoU points \(1 seed\): one seed', result.stdout, re.M)
    assert re.search(r'^fine-tune 10 %: HilDA - scratch: ', result.stdout,
                     re.M)
    # progress on the terminal: the four runs' iterations (4 x 2), done
    assert re.search(r'finetune_demo.*\b8/8\b.*4/4 runs done', result.stderr)
    with open(work_dir / 'summary.json') as f:
        summary = json.load(f)
    assert set(summary['runs']) == {
        'hilda_linear_100pct_d0', 'random_linear_100pct_d0',
        'hilda_finetune_10pct_d0', 'random_finetune_10pct_d0'
    }
    for run_ in summary['runs'].values():
        assert 0.0 <= run_['metrics']['miou'] <= 1.0

    def log(name):
        logs = glob.glob(str(work_dir / 'downstream' / name / '*' / '*.log'))
        return open(logs[0]).read()

    # only the HilDA runs load (and check) the pre-trained weights
    checked = 'PretrainedWeightsCheckHook: 245/245 tensors'
    for name in ('hilda_linear_100pct_d0', 'hilda_finetune_10pct_d0'):
        assert checked in log(name) and '(100.0%)' in log(name)
    for name in ('random_linear_100pct_d0', 'random_finetune_10pct_d0'):
        assert 'equal checkpoint' not in log(name)
    # the fine-tune pair trains on the 10 % split, the probe on all labels
    split = str(work_dir / 'splits' / 'nuscenes_infos_train_10pct_seed0.json')
    for name, subset in (('hilda_finetune_10pct_d0',
                          split), ('random_finetune_10pct_d0', split),
                         ('random_linear_100pct_d0', None)):
        dumped = Config.fromfile(
            str(work_dir / 'downstream' / name / f'{name}.py'))
        assert dumped.train_dataloader.dataset.subset_file == subset


def test_demo_detector_loads_hilda_encoder_and_test_py_reports_map(tmp_path):
    export = str(tmp_path / 'centerpoint.pth')
    fake_export(DEMO_SPARSE_ENCODER, 'centerpoint', export)
    root = tiny_demo_root() + '/'
    work_dir = str(tmp_path / 'det')
    options = [
        f'load_from={export}', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'train_cfg.val_begin=3',
        'default_hooks.checkpoint.interval=2',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}'
    ]
    train = run([
        osp.join(REPO_ROOT, 'tools', 'train.py'), DEMO_DET, '--work-dir',
        work_dir, '--cfg-options', *options
    ], str(tmp_path))
    assert train.returncode == 0, train.stderr[-3000:]
    assert 'of "pts_middle_encoder" equal checkpoint' in train.stdout + \
        train.stderr
    test = run([
        osp.join(REPO_ROOT, 'tools', 'test.py'), DEMO_DET,
        osp.join(work_dir, 'iter_2.pth'), '--work-dir', work_dir + '/test',
        '--cfg-options', *options
    ], str(tmp_path))
    assert test.returncode == 0, test.stderr[-3000:]
    logged = glob.glob(osp.join(work_dir, 'test', '*', '*.json'))
    with open(logged[0]) as f:
        metrics = json.loads(f.readline())
    assert 0.0 <= metrics['mAP'] <= 1.0
    assert {'car_AP', 'pedestrian_AP', 'mATE'} <= set(metrics)
