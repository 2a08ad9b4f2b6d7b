# Quick start: `make demo` runs the main job on generated data, `make test`
# runs the whole test suite. Both create .venv/ on first use (see
# tools/setup_env.sh) and reuse it afterwards.
PYTHON ?= python3.11
PY := .venv/bin/python
SMOKE_DATA := data/smoke_semantickitti
SMOKE_CONFIG := configs/smoke/minkunet18-w8_spconv_1xb2-8iter_smoke-semantickitti.py

.PHONY: env demo test lint

env:
	@PYTHON=$(PYTHON) bash tools/setup_env.sh

demo: env
	@test -f $(SMOKE_DATA)/semantickitti_infos_train.pkl || \
		$(PY) tools/misc/create_smoke_data.py --out-dir $(SMOKE_DATA)
	$(PY) tools/train.py $(SMOKE_CONFIG) --work-dir work_dirs/demo_smoke
	$(PY) tools/test.py $(SMOKE_CONFIG) work_dirs/demo_smoke/iter_8.pth \
		--work-dir work_dirs/demo_smoke

test: env
	$(PY) -m pytest tests

lint: env
	$(PY) -m flake8 projects tools tests configs
	$(PY) -m isort --check-only --diff projects tools tests configs
