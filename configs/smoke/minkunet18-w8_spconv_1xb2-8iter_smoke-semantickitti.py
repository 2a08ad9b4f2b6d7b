# A few seconds of real training on CPU or GPU: mmdet3d's MinkUNet18 (spconv,
# width 8) on the tiny SemanticKITTI-format set that
# `tools/misc/create_smoke_data.py --out-dir data/smoke_semantickitti` writes.
# It checks the install, the launchers and the tools, nothing about HilDA's
# method; `make demo` runs it.
_base_ = [
    'mmdet3d::_base_/datasets/semantickitti.py',
    'mmdet3d::_base_/models/minkunet.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/smoke_semantickitti/'

model = dict(
    data_preprocessor=dict(
        type='HilDADataPreprocessor',
        batch_first=True,
        max_voxels=None,
        voxel_layer=dict(voxel_size=[0.2, 0.2, 0.2])),
    backbone=dict(
        sparseconv_backend='spconv',
        base_channels=8,
        encoder_channels=[8, 16, 32, 64],
        decoder_channels=[64, 32, 24, 24]),
    decode_head=dict(channels=24))

# Workers stay in the main process: the set is tiny and CI has two cores.
dataloader_common = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    **dataloader_common, dataset=dict(data_root=data_root))
val_dataloader = dict(**dataloader_common, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.01))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=8, val_interval=8)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=8))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=False)
auto_scale_lr = dict(enable=False, base_batch_size=2)
