# Quick start (README.md): `make env` builds .venv/ once (tools/setup_env.sh,
# with a progress line at least every 20 s), `make demo` runs the main job on
# generated data, `make test` runs the whole test suite. demo and test create
# .venv/ on first use too and reuse it afterwards.
PYTHON ?= python3.11
PY := .venv/bin/python
DEMO_DATA := data/hilda_demo
DEMO_CONFIG := configs/hilda/hilda_minkunet18-w16-effnetlite0_1xb2-150iter_demo.py
DEMO_DIR := work_dirs/demo
DEMO_WEIGHTS := $(DEMO_DIR)/hilda_minkunet18-w16_demo.pth
SMOKE_DATA := data/smoke_semantickitti
SMOKE_CONFIG := configs/smoke/minkunet18-w8_spconv_1xb2-8iter_smoke-semantickitti.py

.PHONY: env demo smoke test lint

env:
	@PYTHON=$(PYTHON) bash tools/setup_env.sh

# Generate the demo world (once), pre-train HilDA on it, export the student,
# then compare it with random weights downstream (linear probe on all labels,
# fine-tune on 10 %; 3 seeds each): mIoU, differences and their spread.
demo: env
	@test -f $(DEMO_DATA)/nuscenes_infos_train.pkl || \
		$(PY) tools/create_demo_data.py --out-dir $(DEMO_DATA)
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/model_converters/hilda_to_mmdet3d.py \
		$$(cat $(DEMO_DIR)/last_checkpoint) $(DEMO_WEIGHTS) --target minkunet
	@echo "HilDA student weights for mmdet3d's MinkUNet: $(DEMO_WEIGHTS)"
	$(PY) tools/finetune_demo.py --pretrained $(DEMO_WEIGHTS) \
		--work-dir $(DEMO_DIR)/finetune --iters 100 --seeds 3 --share 10

# Seconds-long install check: mmdet3d's MinkUNet through tools/train.py
# and tools/test.py on a tiny SemanticKITTI-format set.
smoke: env
	@test -f $(SMOKE_DATA)/semantickitti_infos_train.pkl || \
		$(PY) tools/misc/create_smoke_data.py --out-dir $(SMOKE_DATA)
	$(PY) tools/train.py $(SMOKE_CONFIG) --work-dir work_dirs/smoke
	$(PY) tools/test.py $(SMOKE_CONFIG) work_dirs/smoke/iter_8.pth \
		--work-dir work_dirs/smoke

test: env
	$(PY) -m pytest tests

lint: env
	$(PY) -m flake8 projects tools tests configs
	$(PY) -m isort --check-only --diff projects tools tests configs
