# Copyright (c) HilDA authors. All rights reserved.
from .cosine_distance_loss import CosineDistanceLoss, cosine_distance_loss
from .feature_mse_loss import FeatureMSELoss, feature_mse_loss
from .normalized_l2_loss import NormalizedL2Loss, normalized_l2_loss
from .superpixel_infonce_loss import (SuperpixelInfoNCELoss, num_superpixels,
                                      superpixel_infonce_loss)

__all__ = [
    'CosineDistanceLoss', 'FeatureMSELoss', 'NormalizedL2Loss',
    'SuperpixelInfoNCELoss', 'cosine_distance_loss', 'feature_mse_loss',
    'normalized_l2_loss', 'num_superpixels', 'superpixel_infonce_loss'
]
