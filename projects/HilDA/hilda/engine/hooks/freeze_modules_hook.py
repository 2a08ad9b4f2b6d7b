# Copyright (c) HilDA authors. All rights reserved.
"""Freeze parts of a model for linear probing."""
from typing import Sequence, Union

from mmdet3d.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn

ModuleNames = Union[str, Sequence[str]]


@HOOKS.register_module()
class FreezeModulesHook(Hook):
    """Freeze modules for the whole training run (linear probing).

    A zero learning rate (``paramwise_cfg`` with ``lr_mult=0``) is not a
    frozen backbone: BatchNorm statistics keep updating in train mode, and
    weight decay still applies. Here the modules' parameters get
    ``requires_grad=False`` (no gradient, no optimiser update, no weight
    decay) and the modules are put back into eval mode before every
    training iteration (the train loop calls ``model.train()``), so BN
    uses and keeps the pre-trained running statistics and dropout is off.

    Runs in ``before_train``, i.e. after ``init_weights``/``load_from``.
    Under DistributedDataParallel the model was wrapped while the
    parameters still required gradients, so the wrapper must be built with
    ``find_unused_parameters=True``; this is checked.

    Args:
        modules (str | Sequence[str]): Dotted paths of the modules to
            freeze. Defaults to ('backbone', ).
    """
    priority = 'HIGH'

    def __init__(self, modules: ModuleNames = ('backbone', )) -> None:
        self.modules = [modules] if isinstance(modules, str) else \
            list(modules)
        if not self.modules:
            raise ValueError('FreezeModulesHook needs at least one module')

    @staticmethod
    def _model(runner) -> nn.Module:
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def _frozen(self, runner):
        model = self._model(runner)
        for path in self.modules:
            target = model
            for part in path.split('.'):
                if not hasattr(target, part):
                    raise ValueError(
                        f'FreezeModulesHook: {type(model).__name__} has no '
                        f'module "{path}"')
                target = getattr(target, part)
            yield target

    def before_train(self, runner) -> None:
        """Freeze, check the DDP setting, and log what still trains."""
        if is_model_wrapper(runner.model) and hasattr(
                runner.model, 'find_unused_parameters') and \
                not runner.model.find_unused_parameters:
            raise ValueError(
                'FreezeModulesHook under DistributedDataParallel needs '
                "model_wrapper_cfg=dict(type='MMDistributedDataParallel', "
                'find_unused_parameters=True)')
        frozen = 0
        for module in self._frozen(runner):
            for param in module.parameters():
                param.requires_grad_(False)
                frozen += param.numel()
            module.eval()
        trainable = [(name, p.numel())
                     for name, p in self._model(runner).named_parameters()
                     if p.requires_grad]
        print_log(
            f'FreezeModulesHook: froze {", ".join(self.modules)} '
            f'({frozen} parameters, BN in eval mode); trainable: '
            f'{sum(n for _, n in trainable)} parameters in '
            f'{[name for name, _ in trainable]}',
            logger='current')

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        """Undo the loop's ``model.train()`` for the frozen modules."""
        for module in self._frozen(runner):
            module.eval()
