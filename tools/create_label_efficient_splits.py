# Copyright (c) HilDA authors. All rights reserved.
"""Write reproducible label-efficient training splits (1%, 5%, ...).

Example:
    python tools/create_label_efficient_splits.py \
        data/nuscenes/nuscenes_infos_train.pkl \
        --percents 1 5 10 25 100 --seed 0 --out-dir data/nuscenes/splits
    # -> data/nuscenes/splits/nuscenes_infos_train_1pct_seed0.json, ...
    # used as train_dataloader.dataset.subset_file (NuScenesLidarSegDataset)

The rule (the same scans every time, on every machine):
    Every sample (``--unit frame``, the default) gets the key
    ``sha256(f'{seed}:{token}')`` of its sample token; samples are ranked by
    that key and the p% split is the first ``ceil(p * N / 100)`` samples of
    the ranking (at least one). With ``--unit scene`` whole scenes are
    ranked by ``sha256(f'{seed}:{scene_token}')`` and taken in that order
    until the split holds at least ``ceil(p * N / 100)`` samples.

    Hence: the same seed gives the same files whatever the order of the
    info file; a sample's membership does not depend on the other samples;
    and the splits are nested (1% of the scans is inside 5%, inside 10%,
    ...) because every percentage is a prefix of the same ranking.
"""
import argparse
import hashlib
import json
import math
import os
import os.path as osp
import pickle
import sys
from typing import Dict, List

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.HilDA.hilda.apis import ConfigError, run_tool  # noqa: E402

RULE = ('samples ranked by sha256("{seed}:{token}"); the p% split is the '
        'first ceil(p*N/100) of the ranking (at least 1); with unit=scene, '
        'scenes are ranked by sha256("{seed}:{scene_token}") and taken '
        'whole until the split holds ceil(p*N/100) samples; splits of one '
        'seed are nested')


def _key(seed: int, token: str) -> str:
    return hashlib.sha256(f'{seed}:{token}'.encode()).hexdigest()


def load_samples(info_file: str) -> List[dict]:
    """The ``data_list`` of an mmdet3d info file (tokens checked)."""
    with open(info_file, 'rb') as f:
        infos = pickle.load(f)
    data_list = infos['data_list'] if isinstance(infos, dict) else infos
    tokens = [d.get('token') for d in data_list]
    if not data_list or any(not t for t in tokens):
        raise ValueError(f'{info_file}: every sample needs a "token"')
    if len(set(tokens)) != len(tokens):
        raise ValueError(f'{info_file}: duplicate sample tokens')
    return data_list


def split_indices(data_list: List[dict],
                  percent: float,
                  seed: int = 0,
                  unit: str = 'frame') -> List[int]:
    """Indices (info-file order) of the ``percent`` % split.

    Args:
        data_list (list[dict]): Samples with ``token`` (and
            ``scene_token`` for ``unit='scene'``).
        percent (float): In (0, 100].
        seed (int): Seed of the ranking.
        unit (str): 'frame' or 'scene'.

    Returns:
        list[int]: Sorted indices into ``data_list``.
    """
    if not 0 < percent <= 100:
        raise ValueError(f'percent must be in (0, 100], got {percent}')
    total = len(data_list)
    target = min(total, max(1, math.ceil(percent * total / 100 - 1e-9)))
    if unit == 'frame':
        ranking = sorted(
            range(total), key=lambda i: _key(seed, data_list[i]['token']))
        return sorted(ranking[:target])
    if unit != 'scene':
        raise ValueError(f"unit must be 'frame' or 'scene', got {unit}")
    scenes: Dict[str, List[int]] = {}
    for i, info in enumerate(data_list):
        scene = info.get('scene_token')
        if not scene:
            raise ValueError(
                f'sample {info["token"]} has no "scene_token" (needed by '
                '--unit scene; HilDA info converters write it)')
        scenes.setdefault(scene, []).append(i)
    chosen: List[int] = []
    for scene in sorted(scenes, key=lambda s: _key(seed, s)):
        if len(chosen) >= target:
            break
        chosen.extend(scenes[scene])
    return sorted(chosen)


def split_name(info_file: str, percent: float, seed: int, unit: str) -> str:
    stem = osp.splitext(osp.basename(info_file))[0]
    suffix = '' if unit == 'frame' else '_scenes'
    return f'{stem}_{percent:g}pct{suffix}_seed{seed}.json'


def create_splits(info_file: str,
                  percents: List[float],
                  out_dir: str,
                  seed: int = 0,
                  unit: str = 'frame') -> Dict[float, str]:
    """Write one JSON split per percentage; returns {percent: path}."""
    data_list = load_samples(info_file)
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for percent in percents:
        indices = split_indices(data_list, percent, seed, unit)
        scenes = {data_list[i].get('scene_token') for i in indices}
        content = dict(
            info_file=osp.basename(info_file),
            num_samples_total=len(data_list),
            percent=percent,
            seed=seed,
            unit=unit,
            rule=RULE,
            num_samples=len(indices),
            num_scenes=None if None in scenes else len(scenes),
            sample_tokens=[data_list[i]['token'] for i in indices],
            sample_indices=indices)
        path = osp.join(out_dir, split_name(info_file, percent, seed, unit))
        with open(path, 'w') as f:
            json.dump(content, f, indent=1)
            f.write('\n')
        paths[percent] = path
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('info_file', help='mmdet3d info file (train split)')
    parser.add_argument(
        '--percents',
        type=float,
        nargs='+',
        default=[1, 5, 10, 25, 100],
        help='split sizes in percent of the samples')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--unit',
        choices=['frame', 'scene'],
        default='frame',
        help='sample single keyframes (default) or whole scenes')
    parser.add_argument('--out-dir', required=True)
    args = parser.parse_args(argv)
    if not osp.isfile(args.info_file):
        raise ConfigError(f'{args.info_file} does not exist')
    try:
        paths = create_splits(args.info_file, args.percents, args.out_dir,
                              args.seed, args.unit)
    except ValueError as e:  # a bad option or info file, named in e
        raise ConfigError(str(e)) from e
    for percent, path in paths.items():
        with open(path) as f:
            n = json.load(f)['num_samples']
        print(f'{percent:g}%: {n} samples -> {path}')


if __name__ == '__main__':
    run_tool(main, 'create_label_efficient_splits.py')
