# Copyright (c) HilDA authors. All rights reserved.
from .distill_losses import (DISTILL_LOSSES, cosine_distance_loss,
                             normalized_l2_loss, num_superpixels,
                             superpixel_infonce_loss)

__all__ = [
    'DISTILL_LOSSES', 'cosine_distance_loss', 'normalized_l2_loss',
    'num_superpixels', 'superpixel_infonce_loss'
]
