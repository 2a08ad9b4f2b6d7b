# Copyright (c) HilDA authors. All rights reserved.
from .data_preprocessors import HilDADataPreprocessor

__all__ = ['HilDADataPreprocessor']
