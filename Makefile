# Thin entry points; the logic lives in tutorial_lib. Every target sets up what it needs.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-unit lint lab cluster-up cluster-down cluster-status prepare bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (set PYTHON=...)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

## The main job: local cluster up, the blog's deployment applied, a real answer from vLLM.
demo: setup
	$(PY) -m tutorial_lib.demo

## Every test, fastest tier first: lint and layer contracts, unit (no cluster, no Go tools),
## tools (the policy engine, promtool), install (lowest pinned versions), then the local
## cluster's tests and all notebooks (nbmake), in random order.
test: test-unit prepare
	$(PY) -m pytest tests/tools tests/install
	$(PY) -m pytest tests/cluster notebooks

## The fast tier alone: under a minute, no cluster, no Go toolchain needed.
test-unit: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest tests/unit

## Obtain the cluster binaries (and later the runtime) with visible progress before pytest.
prepare: setup
	$(PY) -m tutorial_lib.local prepare

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

cluster-up: setup
	$(PY) -m tutorial_lib.local up

cluster-down: setup
	$(PY) -m tutorial_lib.local down

cluster-status: setup
	$(PY) -m tutorial_lib.local status

bench: setup prepare
	$(PY) benchmarks/local_cluster.py
