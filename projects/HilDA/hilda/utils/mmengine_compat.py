# Copyright (c) HilDA authors. All rights reserved.
"""Every place HilDA reaches past the public API of mmengine (or patches a
library at run time), in one module.

The rest of the plugin calls the functions below instead of reading
private attributes itself, so a new mmengine that renames one of them
fails here, by name: each accessor reads its attribute directly (an
``AttributeError`` naming it, never a ``getattr`` default that would hide
the rename), and :func:`check_mmengine_compat` (run by the test suite)
builds the mmengine objects concerned and checks that every attribute in
:data:`PRIVATE_ATTRIBUTES` is there.

Runtime patches, also listed here:

* :func:`replace_method` puts a wrapper in place of a method of one live
  object (the loss guard wraps ``update_params``/``step`` of the optim
  wrapper and ``parse_losses`` of the model; mmengine offers no hook
  between the loss and the backward pass);
* :func:`patch_spconv_for_cpu` (from :mod:`.spconv_cpu`, applied when the
  plugin is imported) lets spconv train on machines without CUDA.
"""
from typing import Any, Callable, Dict, Tuple

from ..errors import HilDAError
from .spconv_cpu import patch_spconv_for_cpu

# (mmengine class, attribute) -> what HilDA reads it for.
PRIVATE_ATTRIBUTES: Dict[Tuple[str, str], str] = {
    ('mmengine.runner.Runner', '_train_loop'):
    'whether the train loop is built (training, not test/val)',
    ('mmengine.runner.Runner', '_resume'):
    'whether the run resumes (warn about changed batch size or lr)',
    ('mmengine.runner.IterBasedTrainLoop', '_iter'):
    'the iteration a resumed loop continues from (RNG state restore)',
    ('mmengine.config.Config', '_cfg_dict'):
    'the raw config tree (check --cfg-options keys)',
    ('mmengine.model.ImgDataPreprocessor', '_enable_normalize'):
    'whether the data preprocessor normalises images for the teacher',
    ('mmengine.dataset.BaseDataset', '_metainfo'):
    'the meta information an info file adds to a dataset (read safely)',
    ('mmengine.logging.HistoryBuffer', '_statistics_methods'):
    'which HistoryBuffer methods a checkpoint may name (weights_only)',
}

# Marks an object whose method was replaced by :func:`replace_method`.
_REPLACED = '_hilda_replaced_methods'


class MMEngineCompatError(HilDAError, AttributeError):
    """The installed mmengine lacks an attribute HilDA reads."""


def train_loop_or_cfg(runner) -> Any:
    """``runner._train_loop``: the built loop, or its config before
    ``runner.train()`` builds it (None for test/val runs)."""
    return runner._train_loop


def is_resuming(runner) -> bool:
    """``runner._resume``: whether the run resumes from a checkpoint."""
    return bool(runner._resume)


def loop_iter(loop) -> int:
    """``loop._iter``: the iteration a (resumed) train loop is at."""
    return loop._iter


def raw_cfg_dict(cfg) -> Any:
    """``cfg._cfg_dict``: the ``ConfigDict`` tree of a ``Config``."""
    return cfg._cfg_dict


def normalizes_images(preprocessor) -> bool:
    """``preprocessor._enable_normalize`` of an ``ImgDataPreprocessor``
    (mmdet3d's ``Det3DDataPreprocessor`` derives from it)."""
    return bool(preprocessor._enable_normalize)


def dataset_metainfo(dataset) -> dict:
    """``dataset._metainfo``: the (mutable) meta information of an
    mmengine ``BaseDataset``, which ``load_data_list`` fills from the info
    file."""
    return dataset._metainfo


def history_buffer_statistics() -> dict:
    """``HistoryBuffer._statistics_methods``: the statistics methods
    registered on mmengine's ``HistoryBuffer`` (name -> function)."""
    from mmengine.logging import HistoryBuffer
    return HistoryBuffer._statistics_methods


def replace_method(obj: Any, name: str,
                   make_wrapper: Callable[[Callable], Callable]) -> bool:
    """Replace ``obj.<name>`` (on this object only) by
    ``make_wrapper(original)``, once.

    Returns:
        bool: False when ``name`` was already replaced on ``obj``.
    """
    replaced = obj.__dict__.setdefault(_REPLACED, set())
    if name in replaced:
        return False
    setattr(obj, name, make_wrapper(getattr(obj, name)))
    replaced.add(name)
    return True


def _instances() -> Dict[str, Any]:
    """Small instances of the classes in :data:`PRIVATE_ATTRIBUTES`."""
    import tempfile

    import torch
    from mmengine.config import Config
    from mmengine.dataset import BaseDataset
    from mmengine.logging import HistoryBuffer
    from mmengine.model import BaseModel, ImgDataPreprocessor
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    class _Model(BaseModel):

        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(1, 1)

        def forward(self, inputs=None, data_samples=None, mode='tensor'):
            return dict(loss=self.linear.weight.sum())

    work_dir = tempfile.mkdtemp(prefix='hilda-mmengine-compat-')
    # The Runner makes its scope the current one; the caller's (e.g.
    # mmdet3d's) is restored afterwards.
    with DefaultScope.overwrite_default_scope('mmengine'):
        runner = Runner(
            model=_Model(),
            work_dir=work_dir,
            train_dataloader=dict(
                dataset=[0],
                sampler=dict(type='DefaultSampler', shuffle=False),
                collate_fn=dict(type='default_collate'),
                batch_size=1),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
            train_cfg=dict(by_epoch=False, max_iters=1),
            default_hooks=dict(logger=None, checkpoint=None),
            default_scope='mmengine')
    return {
        'mmengine.runner.Runner': runner,
        'mmengine.runner.IterBasedTrainLoop': runner.train_loop,
        'mmengine.config.Config': Config(dict(a=1)),
        'mmengine.model.ImgDataPreprocessor': ImgDataPreprocessor(),
        'mmengine.dataset.BaseDataset': BaseDataset(lazy_init=True),
        # A class attribute: checked on the class.
        'mmengine.logging.HistoryBuffer': HistoryBuffer,
    }


def check_mmengine_compat() -> None:
    """Check that the installed mmengine has every attribute in
    :data:`PRIVATE_ATTRIBUTES`.

    Raises:
        MMEngineCompatError: Naming the class, the attribute, what HilDA
            reads it for and the installed mmengine version.
    """
    import mmengine

    objects = _instances()
    for (owner, attribute), purpose in PRIVATE_ATTRIBUTES.items():
        obj = objects[owner]
        if attribute not in vars(obj):
            raise MMEngineCompatError(
                f'mmengine {mmengine.__version__}: {owner} has no attribute '
                f'{attribute!r}, which HilDA reads for {purpose} (see '
                'projects/HilDA/hilda/utils/mmengine_compat.py)')


__all__ = [
    'PRIVATE_ATTRIBUTES', 'MMEngineCompatError', 'train_loop_or_cfg',
    'is_resuming', 'loop_iter', 'raw_cfg_dict', 'normalizes_images',
    'dataset_metainfo', 'history_buffer_statistics', 'replace_method',
    'check_mmengine_compat', 'patch_spconv_for_cpu'
]
