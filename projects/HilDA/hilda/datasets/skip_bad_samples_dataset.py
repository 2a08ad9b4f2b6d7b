# Copyright (c) HilDA authors. All rights reserved.
"""Train past unreadable samples instead of losing a multi-day run.

HilDA's loaders raise :class:`BadSampleError` naming the file for a missing
or truncated scan, a scan without a finite point, or a missing/undecodable
image. By default that stops the run (a broken data set should be noticed).
With ``skip_bad_samples=True`` the training set is wrapped (by
``apis.apply_skip_bad_samples``) in :class:`SkipBadSamplesDataset`, which
serves the next readable sample instead, logs each bad file once with its
reason, and records what it replaced in the returned sample's metainfo
(``replaced_bad_samples``), so :class:`BadSampleSummaryHook` can count them
in the main process even when the loading runs in dataloader workers.
"""
import copy
import logging
from typing import Dict, List, Optional, Tuple, Union

from mmdet3d.registry import DATASETS
from mmengine.logging import print_log

from .transforms.loading import BadSampleError

SKIP_KEY = 'replaced_bad_samples'


def _file_and_reason(error: BadSampleError) -> Tuple[str, str]:
    """Split ``'<file>: <reason>'`` (the loaders' message format)."""
    msg = str(error)
    path, sep, reason = msg.partition(': ')
    return (path, reason) if sep else (msg, msg)


@DATASETS.register_module()
class SkipBadSamplesDataset:
    """Wrap a dataset so that a sample raising :class:`BadSampleError` is
    replaced by the next readable one.

    Only :class:`BadSampleError` is caught: any other exception is a bug and
    still stops the run. The replacement is deterministic (index + 1, + 2,
    ... modulo the length), so seeded runs stay reproducible.

    Args:
        dataset (dict | Dataset): The wrapped dataset or its config.
        max_skip_ratio (float): Raise once more than this fraction of the
            dataset's samples turned out bad (the data set itself is
            broken). Defaults to 0.01.
        max_consecutive (int): Raise when this many samples in a row are
            bad. Defaults to 16.
        lazy_init (bool): Passed on to the wrapped dataset's ``full_init``
            only. Defaults to False.
    """

    def __init__(self,
                 dataset: Union[dict, object],
                 max_skip_ratio: float = 0.01,
                 max_consecutive: int = 16,
                 lazy_init: bool = False) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset,
                                                             dict) else dataset
        self.max_skip_ratio = max_skip_ratio
        self.max_consecutive = max_consecutive
        # index -> (file, reason); per process (each dataloader worker has
        # its own copy; the summary hook merges what the batches report).
        self.bad: Dict[int, Tuple[str, str]] = {}
        self.bad_files: Dict[str, str] = {}
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        self._fully_initialized = True

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name):
        # Everything else (e.g. ``pipeline``, ``ann_file``) is the
        # wrapped dataset's; guard against recursion before __init__ ends.
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def _record(self, idx: int, error: BadSampleError) -> Tuple[str, str]:
        path, reason = _file_and_reason(error)
        self.bad[idx] = (path, reason)
        # A bad t-1/t+1 scan spoils up to three samples: log the file once.
        if path not in self.bad_files:
            self.bad_files[path] = reason
            print_log(
                f'skipping bad sample {idx}: {path}: {reason} '
                f'[{len(self.bad_files)} bad files so far]',
                logger='current',
                level=logging.WARNING)
        if len(self.bad) > self.max_skip_ratio * len(self):
            raise BadSampleError(
                f'{len(self.bad)} of {len(self)} samples are bad, more than '
                f'max_skip_ratio={self.max_skip_ratio}; last: {path}: '
                f'{reason}') from error
        return path, reason

    def __getitem__(self, idx: int):
        replaced: List[Tuple[int, str, str]] = []
        for attempt in range(self.max_consecutive):
            cur = (idx + attempt) % len(self)
            try:
                data = self.dataset[cur]
            except BadSampleError as e:
                path, reason = self._record(cur, e)
                replaced.append((cur, path, reason))
                continue
            if replaced:
                _attach(data, replaced)
            return data
        raise BadSampleError(
            f'{self.max_consecutive} consecutive bad samples from index '
            f'{idx}: ' + '; '.join(f'{p}: {r}' for _, p, r in replaced))


def _attach(data, replaced: list) -> None:
    """Record the replaced samples in the packed sample's metainfo."""
    sample = data.get('data_samples') if isinstance(data, dict) else None
    if sample is not None and hasattr(sample, 'set_metainfo'):
        sample.set_metainfo({SKIP_KEY: replaced})


def replaced_in_batch(data_batch) -> Optional[list]:
    """``(index, file, reason)`` of the samples replaced in a batch."""
    samples = data_batch.get('data_samples') if isinstance(data_batch,
                                                           dict) else None
    found = []
    for sample in samples or []:
        meta = getattr(sample, 'metainfo', {})
        found.extend(meta.get(SKIP_KEY, []))
    return found
