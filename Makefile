# Two entry points do everything on a fresh machine:
#   make ablation   set up, then run every variant on the built-in defaults
#   make test       set up, then run the test suite
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python

.PHONY: setup ablation quick test clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build from local disk; a plain `torch` would download a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,minilm,aitw,ray,tensorboard,mlflow,aggregators]'
	touch $@

setup: $(VENV)/.installed

ablation: setup
	$(PY) run_ablation.py --variants all

quick: setup
	$(PY) run_ablation.py --variants all --quick

test: setup
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache reports/ablation reports/quick

# Benchmarks: pytest-benchmark enabled, JSON saved, ratios checked against benchmarks/bounds.json
BENCH_DIR  = benchmarks/results
BENCH_NAME = $(shell hostname)-$(shell date +%Y%m%d-%H%M%S)

.PHONY: bench
bench: setup
	mkdir -p $(BENCH_DIR)
	$(PY) -m pytest tests/benchmarks -p no:randomly --benchmark-enable --benchmark-only \
	    --benchmark-json=$(BENCH_DIR)/latest.json -q
	cp $(BENCH_DIR)/latest.json $(BENCH_DIR)/$(BENCH_NAME).json
	@if [ -f $(BENCH_DIR)/baseline.json ]; then \
	    $(PY) -m pytest_benchmark compare $(BENCH_DIR)/baseline.json $(BENCH_DIR)/latest.json \
	        --columns=median,iqr --sort=name || true; fi
	$(PY) -m harness.benchmarking check $(BENCH_DIR)/latest.json --csv $(BENCH_DIR)/latest.csv
