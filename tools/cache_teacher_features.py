# Copyright (c) HilDA authors. All rights reserved.
"""Run the frozen teacher once over every sample and cache its features.

Pre-training then reads the features (``LoadTeacherFeatures`` in the
pipeline) instead of decoding the images and running the teacher every
epoch. The images are transformed deterministically (the config's
``MultiViewImageAug`` size, scale 1, centre crop, no flip): image
augmentation must be off while training on the cache. Point augmentation
is unaffected.

Example (the demo; the ``..._teachercache.py`` config reads the result):
    python tools/cache_teacher_features.py \
        configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py \
        --out-dir data/hilda_demo/teacher_cache/effnetlite0_224x392

Features are stored as float16 (``<out-dir>/samples/<token>.npz``) with a
``meta.json`` naming the teacher (a hash of its type, levels and weights,
checked by the pre-trainer) and the image size; every sample file also
carries the teacher's key, its sample token and a fingerprint of the
camera files. Re-running skips a sample only when its file holds this
token, this teacher's key (its own, not only meta.json's) and the
fingerprint of the images as they are now; any other file is recomputed
and counted. So an interrupted run resumes, also an interrupted
``--overwrite`` for another teacher. Non-finite features are refused
(naming the sample); samples sharing a token are cached once and counted
once. On a GPU the teacher runs under fp16 autocast.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from tqdm import tqdm  # noqa: E402

from projects.HilDA.hilda.apis import add_cfg_options  # noqa: E402
from projects.HilDA.hilda.apis import ConfigError, load_config, run_tool
from projects.HilDA.hilda.datasets.teacher_cache import (  # noqa: E402
    META_FILE, TeacherCacheError, image_fingerprint, info_image_paths,
    read_meta, sample_file, stale_reason, write_meta, write_sample)

PROG = 'cache_teacher_features.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'config',
        help='pre-training config (its teacher, '
        'data preprocessor and train dataset are used)')
    parser.add_argument(
        '--out-dir',
        help='cache directory (default: the cache_dir of the '
        "LoadTeacherFeatures in the config's pipeline)")
    parser.add_argument(
        '--ann-file',
        nargs='+',
        help='info files to cache (default: the train dataset\'s)')
    parser.add_argument(
        '--image-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='teacher input size (default: the final_size of the '
        "pipeline's MultiViewImageAug or the image_size of its "
        'LoadTeacherFeatures)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--num-workers', type=int, default=0)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace a cache made by another teacher / image size, and '
        'recompute existing samples')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='default: cuda when available')
    add_cfg_options(parser, default={})
    return parser.parse_args(argv)


def pipeline_step(pipeline: list, type_name: str):
    """The first step of ``type_name`` in a pipeline config, or None."""
    return next((t for t in pipeline if t.get('type') == type_name), None)


def dataset_cfg(cfg) -> dict:
    """The train dataset config, inside any dataset wrapper."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset
    return dataset.copy()


def cache_settings(cfg, args) -> tuple:
    """(out_dir, (H, W), num_views) from the arguments and the config."""
    pipeline = dataset_cfg(cfg).get('pipeline', [])
    reader = pipeline_step(pipeline, 'LoadTeacherFeatures')
    aug = pipeline_step(pipeline, 'MultiViewImageAug')
    loader = pipeline_step(pipeline, 'LoadCheckedMultiViewImages')
    out_dir = args.out_dir or (reader or {}).get('cache_dir')
    if not out_dir:
        raise ConfigError(
            f'{args.config}: no --out-dir and no LoadTeacherFeatures '
            'cache_dir in the train pipeline')
    size = args.image_size or (aug or {}).get('final_size') or (
        reader or {}).get('image_size')
    if not size:
        raise ConfigError(
            f'{args.config}: no --image-size and neither a MultiViewImageAug '
            'final_size nor a LoadTeacherFeatures image_size in the train '
            'pipeline')
    num_views = (loader or {}).get('num_views', 6)
    return out_dir, tuple(int(s) for s in size), num_views


def build_datasets(cfg, args, size, num_views) -> list:
    """The train dataset(s) with only the deterministic image steps."""
    from mmdet3d.registry import DATASETS
    base = dataset_cfg(cfg)
    base['pipeline'] = [
        dict(type='LoadCheckedMultiViewImages', num_views=num_views),
        dict(type='MultiViewImageAug', final_size=size, crop='center'),
    ]
    datasets = []
    for ann_file in args.ann_file or [base['ann_file']]:
        item = base.copy()
        item['ann_file'] = ann_file
        datasets.append(DATASETS.build(item))
    return datasets


def check_existing(out_dir: str, meta: dict, overwrite: bool) -> bool:
    """Whether samples already in ``out_dir`` can be kept (each is checked
    against its own teacher key too)."""
    if not osp.isfile(osp.join(out_dir, META_FILE)):
        return False
    try:
        old = read_meta(out_dir)
    except TeacherCacheError as e:
        if overwrite:
            return False
        raise ConfigError(f'{e} (pass --overwrite to rebuild it)') from e
    levels = old['teacher'].get('out_indices')
    same = (
        old['teacher_key'] == meta['teacher_key']
        and old['final_size'] == meta['final_size']
        and levels == meta['teacher']['out_indices'])
    if not same and not overwrite:
        raise ConfigError(
            f'{out_dir} holds features of teacher {old["teacher_key"]} at '
            f'{old["final_size"]}, not {meta["teacher_key"]} at '
            f'{meta["final_size"]}; pass --overwrite or another --out-dir')
    return same and not overwrite


@torch.no_grad()
def encode(model, samples: list, device: str) -> tuple:
    """Teacher maps and CLS of the samples' cameras, and the input size."""
    imgs = [
        torch.from_numpy(np.stack(s['img'])).permute(0, 3, 1, 2)
        for s in samples
    ]
    from mmdet3d.structures import Det3DDataSample
    data = model.data_preprocessor(
        dict(
            inputs=dict(img=imgs),
            data_samples=[Det3DDataSample() for _ in samples]),
        training=False)
    batch = data['inputs']['imgs']
    with torch.autocast(
            device_type='cuda',
            dtype=torch.float16,
            enabled=device.startswith('cuda')):
        out = model.teacher(batch.flatten(0, 1))
    return out['feats'], out['cls'], tuple(batch.shape[-2:])


def main(argv=None):
    try:
        cache_features(parse_args(argv))
    except TeacherCacheError as e:  # names the file; one line
        raise ConfigError(str(e)) from e


def cache_features(args) -> None:
    """Write the cache described by the parsed arguments."""
    cfg = load_config(args.config, args.cfg_options)
    from mmdet3d.registry import MODELS
    from mmdet3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    out_dir, size, num_views = cache_settings(cfg, args)
    datasets = build_datasets(cfg, args, size, num_views)
    model = MODELS.build(cfg.model).to(args.device).eval()
    teacher = model.teacher
    meta = dict(
        teacher_key=teacher.cache_key(),
        teacher=dict(
            type=type(teacher).__name__,
            checkpoint=str(teacher.checkpoint),
            out_indices=list(teacher.out_indices),
            out_channels=list(teacher.out_channels),
            strides=list(teacher.strides),
            cls_channels=teacher.cls_channels),
        final_size=list(size),
        config=osp.abspath(args.config),
        ann_files=[d.ann_file for d in datasets],
        dtype='float16')
    keep = check_existing(out_dir, meta, args.overwrite)
    start, written, skipped, num_bytes = time.time(), 0, 0, 0
    duplicates = stale = 0
    seen = set()
    input_size = feat_shapes = None
    fingerprints = {}
    for dataset in datasets:
        todo = []
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            token = info['token']
            if token in seen:  # one file per token: cache and count once
                duplicates += 1
                continue
            seen.add(token)
            fingerprints[token] = image_fingerprint(info_image_paths(info))
            path = sample_file(out_dir, token)
            reason = stale_reason(path, token, meta['teacher_key'],
                                  fingerprints[token]) if keep else 'missing'
            if reason is None:
                skipped += 1
            else:
                stale += reason != 'missing'
                todo.append(i)
        loader = DataLoader(
            torch.utils.data.Subset(dataset, todo),
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            collate_fn=list)
        for samples in tqdm(
                loader, desc=osp.basename(dataset.ann_file), unit='batch'):
            feats, cls, input_size = encode(model, samples, args.device)
            feat_shapes = [list(f.shape[1:]) for f in feats]
            if written == 0:  # the samples' directory and what made them
                write_meta(
                    out_dir,
                    dict(
                        meta,
                        input_size=list(input_size),
                        feat_shapes=feat_shapes))
            for b, sample in enumerate(samples):
                cams = slice(b * num_views, (b + 1) * num_views)
                path = write_sample(
                    out_dir, sample['token'],
                    [f[cams].float().cpu().numpy()
                     for f in feats], cls[cams].float().cpu().numpy(),
                    sample['img_aug_matrix'], sample['cam_names'],
                    meta['teacher_key'], fingerprints[sample['token']])
                num_bytes += osp.getsize(path)
                written += 1
    if input_size is not None:
        write_meta(
            out_dir,
            dict(
                meta,
                input_size=list(input_size),
                feat_shapes=feat_shapes,
                num_samples=(written + skipped)))
    per_sample = num_bytes / max(written, 1) / 2**20
    print(f'[{PROG}] {written} samples written, {skipped} already cached, '
          f'{per_sample:.2f} MiB per sample, {time.time() - start:.0f} s; '
          f'cache: {out_dir}' +
          (f'; {duplicates} samples repeat a token already cached (one '
           'file per token)' if duplicates else '') +
          (f'; {stale} existing files were recomputed (another sample, '
           'teacher or images, or unreadable)' if stale else ''))


if __name__ == '__main__':
    run_tool(main, PROG)
