# Copyright (c) HilDA authors. All rights reserved.
"""Library code of the analysis and benchmark tools (``tools/analysis_tools``
and ``tools/benchmarks`` are their command lines). Not part of the
registered runtime: ``hilda/`` never imports it (it needs matplotlib).

- ``loading.py``: build a pre-trainer from config + checkpoint, and samples;
- ``pca_colours.py``, ``occupancy_metrics.py``: colours and BEV IoU;
- ``pretrain_vis.py``: the feature and occupancy pictures;
- ``diffusion_diagnostics.py``: does the diffusion objective learn;
- ``pretrain_speed.py``, ``pipeline_speed.py``, ``ground_speed.py``: step
  and data costs (the last: ground segmenters' CPU time per scan);
- ``probe_table/`` (``plan.py``, ``run.py``, ``report.py``),
  ``scene_flow_probe.py``: the ablation table (pre-training variants from
  the ablation configs, downstream probes and fine-tuning);
- ``jobs.py``, ``progress.py``: the one runner of child runs (process
  scheduling, resume, progress read from the children's logs) that the
  probe table and ``tools/finetune_demo.py`` share;
- ``projection_drawing.py``: the point-on-image pictures of
  ``tools/analysis_tools/draw_projections.py``.
"""
