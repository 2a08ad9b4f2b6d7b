# Copyright (c) HilDA authors. All rights reserved.
"""Config mistakes, max_iters <= 0, a BEV range that is not a whole number
of cells and a full or read-only disk end in one line (issue 30, item 7)."""
import errno
import os.path as osp

import pytest

from projects.HilDA.hilda.apis import ConfigError, run_tool
from projects.HilDA.hilda.apis.cli import one_line_error
from projects.HilDA.hilda.structures import BEVGrid
from tests.conftest import REPO_ROOT, load_tool

DEMO_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'hilda',
    'hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py')
# No teacher weights: the mistakes are found before they would matter.
NO_WEIGHTS = 'model.teacher.checkpoint=None'


def train_line(tmp_path, *options, config=DEMO_CONFIG):
    """The one line tools/train.py exits with (fails if it trains)."""
    train = load_tool('train.py')
    argv = [
        config, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', NO_WEIGHTS, *options
    ]

    def main():
        train.build_runner(train.build_cfg(train.parse_args(argv)))
        raise AssertionError('the runner was built')

    with pytest.raises(SystemExit) as info:
        run_tool(main, 'train.py')
    message = str(info.value)
    assert message.startswith('train.py: error: ')
    assert '\n' not in message
    return message


@pytest.mark.parametrize('value', [0, -1])
def test_max_iters_not_positive_is_refused(tmp_path, value):
    train = load_tool('train.py')
    args = train.parse_args(
        [DEMO_CONFIG, '--cfg-options', f'train_cfg.max_iters={value}'])
    with pytest.raises(
            ConfigError,
            match=f'train_cfg.max_iters = {value}; it must be a '
            'positive integer'):
        train.build_cfg(args)


@pytest.mark.parametrize('cell_size, cells', [(0.63, '101.6'),
                                              (0.68, '94.12')])
def test_bev_range_must_be_whole_cells(cell_size, cells):
    with pytest.raises(ValueError, match=f'{cells} cells'):
        BEVGrid.build([-32, -32, -3, 32, 32, 5], cell_size)
    assert BEVGrid.build([-51.2, -51.2, -5, 51.2, 51.2, 3],
                         0.8).shape == (128, 128)


def test_bev_range_mistake_through_train_is_one_line(tmp_path):
    line = train_line(tmp_path, 'bev_grid.cell_size=0.63')
    assert 'not a whole number of cells of cell_size=0.63' in line


def test_bev_grid_the_unet_cannot_halve_is_one_line(tmp_path):
    line = train_line(tmp_path, 'bev_grid.cell_size=2.56')
    assert 'OccupancyDiffusionHead' in line and '25x25' in line


@pytest.mark.parametrize('levels', [0, 5])
def test_num_levels_out_of_range_is_one_line(tmp_path, levels):
    line = train_line(tmp_path, f'num_levels={levels}')
    assert 'num_levels' in line


def test_mistyped_argument_in_a_child_config_is_one_line(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = [{DEMO_CONFIG!r}]\n'
                     'model = dict(student=dict(num_levls=1))\n')
    line = train_line(tmp_path, config=str(child))
    assert "unexpected keyword argument 'num_levls'" in line


def test_student_teacher_level_mismatch_is_one_line(tmp_path):
    line = train_line(tmp_path, 'model.teacher.num_levels=1')
    assert 'model.teacher.num_levels = 1' in line
    assert 'top-level num_levels = 2' in line


@pytest.mark.parametrize('code, text',
                         [(errno.ENOSPC, 'no space left on device'),
                          (errno.EROFS, 'read-only file system')])
def test_full_or_read_only_disk_names_the_path(code, text):
    named = one_line_error(OSError(code, 'x', '/runs/a/epoch_1.pth'))
    assert named.startswith(f'{text}: /runs/a/epoch_1.pth')
    # ENOSPC from a write() carries no file name: the work dir is named
    unnamed = one_line_error(OSError(code, 'x'), '/runs/a')
    assert 'a file under /runs/a' in unnamed


def test_disk_error_exits_with_one_line():

    def main():
        raise OSError(errno.ENOSPC, 'No space left on device')

    with pytest.raises(SystemExit, match='train.py: error: no space left'):
        run_tool(main, 'train.py')


def test_other_errors_keep_their_traceback():

    def main():
        raise ValueError('a bug, not a config value')

    with pytest.raises(ValueError):
        run_tool(main, 'train.py')
