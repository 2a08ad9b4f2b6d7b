# Copyright (c) HilDA authors. All rights reserved.
"""Run the free-space occlusion test once per sample and store the result.

The test depends only on the t0 scan and the camera calibration, not on
augmentation, so a pre-training of many epochs can read it instead of
recomputing it (and the ground segmentation it needs) every epoch. Each
sample's file holds the (camera, point) pairs inside the un-augmented
images that pass the test, bit-packed, with fingerprints of the scan and
calibration it was made from and the key of the test's settings; a
changed scan, calibration or setting makes the reading
``ProjectPointsToImages(visibility_cache=...)`` refuse the file, naming
it. When the pipeline's ``BEVOccupancyTarget`` removes the ground of the
t+1 scan, that ground mask is stored too (with a fingerprint of the t+1
scan), so that neither Patchwork++ run is left in the loop. Format:
``projects/HilDA/hilda/datasets/visibility_cache.py``.

Example (then set ``visibility_cache`` of the config's
``ProjectPointsToImages`` to the same folder):
    python tools/cache_visibility.py configs/_base_/datasets/hilda_demo.py \
        --out-dir data/hilda_demo/visibility_cache
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from projects.HilDA.hilda.apis import add_cfg_options  # noqa: E402
from projects.HilDA.hilda.apis import ConfigError, load_config, run_tool
from projects.HilDA.hilda.datasets.visibility_cache import (  # noqa: E402
    VisibilityCacheError, read_sample_and_ground, scan_sha1, settings_key,
    write_meta, write_sample)

PROG = 'cache_visibility.py'
# Steps that change the images or the scan: the cache is made before them.
LATER_STEPS = ('MultiViewImageAug', 'ImageSuperpixels',
               'ProjectPointsToImages', 'ConsistentPointAug')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'config', help='config whose train pipeline has ProjectPointsToImages')
    parser.add_argument(
        '--out-dir',
        help='cache directory (default: visibility_cache of the '
        "config's ProjectPointsToImages)")
    parser.add_argument(
        '--ann-file',
        nargs='+',
        help='info files, relative to data_root (default: the train one)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='recompute samples that already have a valid file')
    add_cfg_options(parser, default={})
    return parser.parse_args(argv)


def dataset_cfg(cfg):
    """The train dataset config, inside any dataset wrapper."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset
    return dataset.copy()


def split_pipeline(pipeline: list, config: str):
    """(loading steps, ProjectPointsToImages config) of a train pipeline."""
    project = next(
        (t for t in pipeline if t.get('type') == 'ProjectPointsToImages'),
        None)
    if project is None:
        raise ConfigError(f'{config}: the train pipeline has no '
                          'ProjectPointsToImages')
    if project.get('occlusion', 'free_space') != 'free_space':
        raise ConfigError(f"{config}: ProjectPointsToImages uses occlusion="
                          f"{project.get('occlusion')!r}; only 'free_space' "
                          'is cached')
    loading = []
    for step in pipeline:
        if step.get('type') in LATER_STEPS:
            break
        loading.append(step)
    return loading, project


def next_ground_step(pipeline: list):
    """The ``BEVOccupancyTarget`` config whose t+1 ground mask is stored
    (it removes the ground of ``points_next``), or None."""
    for step in pipeline:
        if (step.get('type') == 'BEVOccupancyTarget'
                and step.get('remove_ground', True)
                and step.get('source_key', 'points_next') == 'points_next'):
            return step
    return None


def main(argv=None):
    args = parse_args(argv)
    from mmdet3d.registry import DATASETS, TRANSFORMS
    from mmdet3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    import projects.HilDA.hilda  # noqa: F401  (registers the transforms)
    cfg = load_config(args.config, args.cfg_options, require_plugin=False)
    base = dataset_cfg(cfg)
    loading, project = split_pipeline(base.get('pipeline', []), args.config)
    out_dir = args.out_dir or project.get('visibility_cache')
    if not out_dir:
        raise ConfigError(f'{args.config}: no --out-dir and no '
                          'visibility_cache in ProjectPointsToImages')
    transform = TRANSFORMS.build(dict(project, visibility_cache=None))
    settings = transform.occlusion_settings()
    key = settings_key(settings)
    occupancy = next_ground_step(base.get('pipeline', []))
    if occupancy is not None:
        occupancy = TRANSFORMS.build(occupancy)
    write_meta(out_dir, settings, occupancy and occupancy.ground_settings())
    base['pipeline'] = loading
    start, written, kept = time.time(), 0, 0
    for ann_file in args.ann_file or [base['ann_file']]:
        dataset = DATASETS.build(dict(base, ann_file=ann_file))
        for i in range(len(dataset)):
            results = dataset.pipeline(dataset.get_data_info(i))
            scan, calib = transform.fingerprints(results)
            cams = list(results['images'])
            next_ground = None
            if occupancy is not None:
                next_ground = dict(
                    scan_sha1=scan_sha1(results['points_next'].tensor.numpy()),
                    key=settings_key(occupancy.ground_settings()))
            if not args.overwrite:
                try:
                    _, stored = read_sample_and_ground(
                        out_dir, results['token'], key, scan, calib, cams,
                        next_ground and next_ground['scan_sha1'])
                    if (next_ground is None or stored is not None
                            and stored['key'] == next_ground['key']):
                        kept += 1
                        continue
                except VisibilityCacheError:
                    pass  # missing or stale: (re)compute
            if occupancy is not None:
                next_ground['mask'] = occupancy.ground(results)
            write_sample(out_dir, results['token'],
                         transform.seen_by_cameras(results), cams, key, scan,
                         calib, next_ground)
            written += 1
    print(f'[{PROG}] {written} samples written, {kept} already up to date, '
          f'{time.time() - start:.0f} s; cache: {out_dir}')


if __name__ == '__main__':
    run_tool(main, PROG)
