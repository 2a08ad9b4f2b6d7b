# Copyright (c) HilDA authors. All rights reserved.
__version__ = '0.1.0'
