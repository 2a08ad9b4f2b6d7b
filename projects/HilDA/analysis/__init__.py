# Copyright (c) HilDA authors. All rights reserved.
"""Library code of the analysis and benchmark tools (``tools/analysis_tools``
and ``tools/benchmarks`` are their command lines). Not part of the
registered runtime: ``hilda/`` never imports it (it needs matplotlib).

- ``loading.py``: build a pre-trainer from config + checkpoint, and samples;
- ``pca_colours.py``, ``occupancy_metrics.py``: colours and BEV IoU;
- ``pretrain_vis.py``: the feature and occupancy pictures;
- ``diffusion_diagnostics.py``: does the diffusion objective learn;
- ``pretrain_speed.py``, ``pipeline_speed.py``: step and data costs;
- ``probe_table.py``, ``scene_flow_probe.py``, ``progress.py``: the
  ablation table (pre-training variants from the ablation configs,
  downstream probes and fine-tuning, child-run progress).
"""
