# `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format clean docs

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "anomalyzer needs Python >= 3.11: set PYTHON=python3.11 (or newer)."; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch first, so the [torch] extra does not pull CUDA wheels.
	$(PY) -m pip install -q torch==2.13.0 || $(PY) -m pip install -q torch
	$(PY) -m pip install -q -e '.[torch,dev,service,onnx,dask,docs,monitor]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/make_data.py --quiet
	mkdir -p out
	$(VENV)/bin/anomalyzer detect examples/transactions.csv --label is_fraud --top 10 --report out/demo_report.html
	$(VENV)/bin/anomalyzer detect examples/server_metrics.csv --time timestamp --group host --label is_incident --top 10 --report out/demo_series_report.html

# Lint, formatting and the import contract run before the suite, so CI enforces them.
test: lint
	sh tests/setup_browser.sh
	sh tests/setup_services.sh
	$(PY) -m pytest -n 2

bench: $(STAMP)
	$(PY) benchmarks/adbench.py --split --choose "auto,auto[combine=mean_z]" --choose "ecod,copod,pyod:ecod"
	$(PY) benchmarks/thresholds.py
	$(PY) benchmarks/iforest_speed.py
	$(PY) benchmarks/labelled.py
	$(PY) benchmarks/cli_scale.py
	$(PY) benchmarks/nab_baselines.py
	$(PY) benchmarks/nab.py --per-series
	$(PY) benchmarks/ts_groups.py
	$(PY) benchmarks/kernels.py
	$(PY) benchmarks/ecg.py
	$(PY) benchmarks/drift.py
	$(PY) benchmarks/hostile.py
	$(PY) benchmarks/onnx_parity.py
	$(PY) benchmarks/feedback.py
	$(PY) benchmarks/service.py --kill
	$(PY) benchmarks/dask_scale.py --rows 10000000 --auto-rows 100000 --sample-rows 20000 --local-rows 50000 --series 100

# The documentation site, built strictly (broken links and failing examples fail it),
# into build/docs/site.
docs: $(STAMP)
	$(PY) docs/build.py --strict

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(PY) -m pytest -q -p no:cacheprovider tests/test_architecture.py
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks examples
	$(VENV)/bin/ruff check --fix src tests benchmarks examples

clean:
	rm -rf $(VENV) out .pytest_cache
