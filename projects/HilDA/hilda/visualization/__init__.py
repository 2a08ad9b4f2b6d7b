# Copyright (c) HilDA authors. All rights reserved.
"""Pictures and diagnostics of pre-training (not imported by the plugin:
needs matplotlib)."""
from .diffusion_diagnostics import diffusion_diagnostics, markdown_table
from .pretrain_vis import (PCAColours, VisualizationError,
                           build_pretrain_dataset, draw_features,
                           draw_occupancy, feature_map_rgb, load_pretrainer,
                           occupancy_iou, occupancy_to_bev, predict_occupancy,
                           prepare_sample, select_cameras,
                           student_teacher_features, val_ann_file,
                           visualize_pretraining)

__all__ = [
    'PCAColours', 'VisualizationError', 'build_pretrain_dataset',
    'draw_features', 'draw_occupancy', 'feature_map_rgb', 'load_pretrainer',
    'occupancy_iou', 'occupancy_to_bev', 'predict_occupancy', 'prepare_sample',
    'select_cameras', 'student_teacher_features', 'val_ann_file',
    'visualize_pretraining', 'diffusion_diagnostics', 'markdown_table'
]
