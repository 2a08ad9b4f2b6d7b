# The smoke config plus a hook that leaves one marker file per rank.
_base_ = ['../../../configs/smoke/'
          'minkunet18-w8_spconv_1xb2-8iter_smoke-semantickitti.py']

custom_imports = dict(
    imports=['projects.HilDA.hilda', 'tests.helpers.rank_done_hook'],
    allow_failed_imports=False)
custom_hooks = [dict(type='RankDoneHook')]
train_cfg = dict(max_iters=2, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=2))
