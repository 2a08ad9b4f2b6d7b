# Copyright (c) HilDA authors. All rights reserved.
"""Log how hard each loss term pushes the student."""
from typing import Optional

from mmdet3d.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class LossGradNormHook(Hook):
    """Log the gradient norm each loss term sends into the student.

    On every ``interval``-th training iteration the pre-trainer's
    ``log_grad_norms`` flag is set, and its ``loss`` then adds
    ``gradnorm_<term>`` (e.g. ``gradnorm_diffusion``,
    ``gradnorm_distill_l0``): the L2 norm of the gradient of that weighted
    loss term w.r.t. the features of the student's last stage
    (:func:`~projects.HilDA.hilda.models.utils.loss_grad_norms`). A user
    sees whether the diffusion objective pushes the student at all, next
    to the distillation terms.

    With ``shares`` (default) it also logs ``gradshare_last_<term>`` and
    ``gradshare_student_<term>``: each term's share of the gradient on the
    parameters of the student's last stage and of the whole student
    (:func:`~projects.HilDA.hilda.models.utils.loss_grad_shares`; the
    shares of a group sum to 1). Feature-space norms exaggerate terms that
    reach few voxels (the global token's max-pool); the parameter shares
    are what the optimiser sees.

    It costs one partial backward pass per term (two with ``shares``) on
    those iterations only; the default interval is the logger's, so the
    values are computed exactly on the iterations that are logged.

    Args:
        interval (int, optional): Every how many iterations; None takes
            the ``LoggerHook``'s interval.
        shares (bool): Also log the parameter-gradient shares. Defaults to
            True.
    """
    priority = 'NORMAL'

    def __init__(self,
                 interval: Optional[int] = None,
                 shares: bool = True) -> None:
        if interval is not None and int(interval) < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.shares = shares

    def before_train(self, runner) -> None:
        if self.interval is None:
            loggers = [
                h for h in runner.hooks if type(h).__name__ == 'LoggerHook'
            ]
            self.interval = loggers[0].interval if loggers else 50
        model = self._model(runner)
        if not hasattr(model, 'log_grad_norms'):
            raise TypeError(
                f'LossGradNormHook needs a model with a log_grad_norms flag '
                f'(HilDAPretrainer), got {type(model).__name__}')

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        model = self._model(runner)
        model.log_grad_norms = self.every_n_train_iters(runner, self.interval)
        model.log_grad_shares = self.shares and model.log_grad_norms

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        model = self._model(runner)
        model.log_grad_norms = model.log_grad_shares = False

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model
