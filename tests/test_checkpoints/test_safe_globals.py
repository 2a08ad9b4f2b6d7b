# Copyright (c) HilDA authors. All rights reserved.
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub

import projects.HilDA.hilda  # noqa: F401  (registers the allowlist)


def test_mmengine_checkpoint_content_loads_with_weights_only(tmp_path):
    hub = MessageHub('safe-globals-test')
    for value in (1.0, 2.0, 3.0):
        hub.update_scalar('train/loss', value)
    path = tmp_path / 'ckpt.pth'
    torch.save(
        dict(
            meta=dict(cfg=ConfigDict(a=1), seed=np.int64(3)),
            message_hub=hub.state_dict(),
            state_dict=dict(w=torch.ones(2)),
            mask=np.arange(4)), path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 2.0
    assert loaded['meta']['cfg'].a == 1 and loaded['meta']['seed'] == 3
    np.testing.assert_array_equal(loaded['mask'], np.arange(4))


class _ReachesIntoAllowedClass:
    """Pickles as ``getattr(ConfigDict, '__init__')``: an allowlisted class,
    but an attribute walk that could lead on to arbitrary code."""

    def __reduce__(self):
        return (getattr, (ConfigDict, '__init__'))


def test_getattr_outside_history_buffer_statistics_is_refused(tmp_path):
    path = tmp_path / 'crafted.pth'
    torch.save(dict(x=_ReachesIntoAllowedClass()), path)
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        torch.load(path, weights_only=True)
