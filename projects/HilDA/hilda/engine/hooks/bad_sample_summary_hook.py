# Copyright (c) HilDA authors. All rights reserved.
"""Count the bad samples that ``SkipBadSamplesDataset`` replaced."""
import logging
from typing import Dict, Tuple

from mmdet3d.registry import HOOKS
from mmengine.dist import all_gather_object, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ...datasets.skip_bad_samples_dataset import replaced_in_batch


@HOOKS.register_module()
class BadSampleSummaryHook(Hook):
    """Collect the replaced samples reported in each training batch and log
    a final count (over all ranks) when the run ends.

    The dataset wrapper logs each bad file when it meets it (in whichever
    process loads it); this hook sees every replacement through the batches
    in the main process, so its count is right with dataloader workers too.
    ``runner.message_hub`` holds the running count as
    ``train/bad_samples``.
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self.bad: Dict[str, Tuple[int, str]] = {}
        self.replacements = 0

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        found = replaced_in_batch(data_batch)
        if not found:
            return
        for idx, path, reason in found:
            self.replacements += 1
            self.bad.setdefault(path, (idx, reason))
        runner.message_hub.update_info('train/bad_samples', len(self.bad))

    def after_run(self, runner) -> None:
        bad = dict(self.bad)
        replacements = self.replacements
        if get_world_size() > 1:
            gathered = all_gather_object((self.bad, self.replacements))
            for other_bad, _ in gathered:
                bad.update(other_bad)
            replacements = sum(count for _, count in gathered)
        if not is_main_process():
            return
        if not bad:
            print_log(
                'BadSampleSummaryHook: no bad sample met', logger='current')
            return
        lines = '\n'.join(f'  {path}: {reason}'
                          for path, (_, reason) in sorted(bad.items()))
        print_log(
            f'BadSampleSummaryHook: skipped {len(bad)} bad sample files '
            f'({replacements} replacements in training batches):\n{lines}',
            logger='current',
            level=logging.WARNING)
