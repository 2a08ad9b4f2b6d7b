# Copyright (c) HilDA authors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .bad_sample_summary_hook import BadSampleSummaryHook
from .freeze_modules_hook import FreezeModulesHook
from .loss_grad_norm_hook import LossGradNormHook
from .loss_guard_hook import LossGuardHook, NonFiniteLossError
from .pretrained_weights_check_hook import (PretrainedWeightsCheckHook,
                                            PretrainedWeightsError,
                                            compare_with_checkpoint)
from .rng_state_hook import RngStateHook, get_rng_state, set_rng_state

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'BadSampleSummaryHook',
    'FreezeModulesHook', 'LossGradNormHook', 'LossGuardHook',
    'NonFiniteLossError', 'PretrainedWeightsCheckHook',
    'PretrainedWeightsError', 'compare_with_checkpoint', 'RngStateHook',
    'get_rng_state', 'set_rng_state'
]
