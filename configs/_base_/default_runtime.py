# HilDA runtime defaults on top of mmdet3d's: the plugin import that every
# HilDA config needs, iteration-based logging and no-CUDA friendly workers.
_base_ = ['mmdet3d::_base_/default_runtime.py']

custom_imports = dict(
    imports=['projects.HilDA.hilda'], allow_failed_imports=False)
