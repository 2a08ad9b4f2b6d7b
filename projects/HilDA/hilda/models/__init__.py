# Copyright (c) HilDA authors. All rights reserved.
from .data_preprocessors import (HilDADataPreprocessor,
                                 HilDAPretrainDataPreprocessor)
from .necks import GlobalTokenHead, HierarchicalDistillNeck

__all__ = [
    'HilDADataPreprocessor', 'HilDAPretrainDataPreprocessor',
    'GlobalTokenHead', 'HierarchicalDistillNeck'
]
