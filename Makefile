# Thin entry points; the logic lives in tutorial_lib. Every target sets up what it needs.
# The newest CPython 3.11–3.14 found (scripts/pythons.py), or PYTHON=/path/to/python3.x.
PYTHON ?= $(shell python3 scripts/pythons.py 2>/dev/null)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The cluster tier's lanes: one local cluster per pytest-xdist worker (tests/lanes.py).
LANES  ?= 2

.PHONY: setup demo doctor test check test-pythons test-tools test-cluster test-lanes test-browser test-gpu lint lab lab-de book test-book cluster-up cluster-down cluster-status prepare bench \
        browser screenshots bundle adapter

## With VLLM_TUTORIAL_BUNDLE=PATH (a workshop bundle) setup needs no network: the venv, the
## binaries, the vLLM runtime and the model all come from that file, checked as they land.
ifdef VLLM_TUTORIAL_BUNDLE
setup:
	@python3 scripts/pythons.py --check "$(PYTHON)"
	$(PYTHON) -m tutorial_lib.local install-bundle "$(VLLM_TUTORIAL_BUNDLE)" --venv $(VENV)
else
setup: $(STAMP)
endif

## uv installs the venv's packages: the same wheels from the same index as pip, in seconds
## instead of minutes (docs/decisions.md); pip brings uv itself. Compiled to bytecode once
## here, as pip does: uv does not by default, and where PYTHONDONTWRITEBYTECODE is set (CI
## images) every kernel and daemon would compile pandas and the kubernetes client again.
$(STAMP): pyproject.toml
	@python3 scripts/pythons.py --check "$(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'uv>=0.9'
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[dev]'
	@touch $@

## The LoRA adapters the tutorial serves (adapters/README.md), trained again from their lessons
## on this machine's CPU with PEFT; the repository ships the result, so nothing else needs this.
adapter: setup prepare
	$(PY) adapters/make.py tutorial-qa
	$(PY) adapters/make.py tutorial-qa-de

## The main job: local cluster up, the blog's deployment applied, a real answer from vLLM.
demo: setup
	@$(PY) -m tutorial_lib.local doctor --quiet
	$(PY) -m tutorial_lib.demo

## Can this machine run the tutorial? Every check, each problem with its fix.
doctor: setup
	$(PY) -m tutorial_lib.local doctor

## Every test, each tier a target below and timed: the cluster binaries and runtime
## (prepare), the local cluster's tests and all notebooks (each twice in a row in one kernel,
## by nbmake) in random order in lanes, and beside the lanes, at a lower priority, lint and
## layer contracts with the unit tier (check), the unit tier under the oldest Python and
## tools and install (the policy engine, promtool, the manifest linters, the lowest pinned
## versions, the offline bundle). The browser tier (JupyterLab in
## headless Chromium, as a reader) runs in the lanes, on each lane's cluster; after them the
## book is rendered from the lanes' runs and read in Chromium (test-book). Ends with a
## table of each tier's wall time and vLLM starts; the budget (docs/decisions.md): 45 min
## from a fresh clone with empty caches, 25 min warm. Before a pull request, `make check`.
test:
	@python3 scripts/pythons.py --check "$(PYTHON)"
	$(PYTHON) scripts/suite.py

## Every tier but the GPU's proves the CPU stand-in, also on a machine with a GPU: what CI
## proves (tutorial_lib/local/gpus.py).
check test-pythons test-tools test-cluster test-lanes test-browser test-book: export VLLM_TUTORIAL_GPU = off

## The contributor's loop, under a minute: lint, layer contracts, the unit tier on one Python
## (no cluster, no Go toolchain).
check: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n auto tests/unit

## The unit tier under the oldest supported Python found here, in a venv of its own: with
## `check` on the newest, the two ends of the range. The versions between them are left
## out: each cost a unit run beside the lanes (docs/decisions.md, The suite's budget).
test-pythons: setup
	@main=$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	python3 scripts/pythons.py --all | tail -n 1 | while read -r version python; do \
	  [ "$$version" = "$$main" ] && continue; \
	  echo "== unit tests under Python $$version ($$python)"; \
	  $(MAKE) --no-print-directory setup PYTHON=$$python VENV=.venv-$$version && \
	  .venv-$$version/bin/python -m pytest -q -n auto tests/unit || exit 1; \
	done

test-tools: setup
	$(PY) -m pytest tests/tools tests/install --durations=10

## Each lane runs its share of the tests on a local cluster of its own.
test-cluster: test-lanes

## The notebooks' passing runs are kept in build/executed for the book (tests/nbmake_twice.py).
EXECUTED := $(CURDIR)/build/executed
test-lanes: setup browser
	rm -rf $(EXECUTED)
	VLLM_TUTORIAL_EXECUTED=$(EXECUTED) $(PY) -m pytest -n $(LANES) --dist worksteal \
	  tests/cluster notebooks tests/browser --durations=40

## The book: both editions as HTML in build/book/ (scripts/book.py), rendered from the
## notebooks' real runs: the lanes' (make test keeps them), or, for a notebook without a
## current run, one run on the local cluster first. Open build/book/index.html.
book: setup
	$(PY) -m scripts.book --executed $(EXECUTED)

## The book read in Chromium: every page of both editions, its outputs, no error, no
## missing picture (tests/book).
test-book: book browser
	$(PY) -m pytest tests/book -p no:randomly

test-browser: setup
	$(PY) -m pytest tests/browser

## The GPU tier: the local cluster's GPU node on this machine's NVIDIA GPU, vLLM's CUDA build
## serving the blog's Deployment (tests/gpu), on a cluster started afresh in that mode.
## Skipped, with the reason, where no GPU vLLM can use is (CI has none; `make test` proves
## the CPU stand-in everywhere).
test-gpu: setup cluster-down
	$(PY) -m pytest tests/gpu -p no:randomly -rs --durations=10

## Obtain the cluster binaries (and later the runtime) with visible progress before pytest.
prepare: setup
	$(PY) -m tutorial_lib.local prepare

## The browser tier's Chromium and its driver, from Debian's packages (never a browser
## download of Playwright's own). Without apt-get it says so, and tests/browser skips.
BROWSER_PACKAGES := chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	  echo "browser: $(BROWSER_PACKAGES) already installed ($$(chromium --version 2>/dev/null))"; \
	elif command -v apt-get >/dev/null; then \
	  echo "browser: installing the Debian packages $(BROWSER_PACKAGES) with apt-get"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(BROWSER_PACKAGES); \
	else \
	  echo "browser: no apt-get here: install $(BROWSER_PACKAGES) with your package manager;"; \
	  echo "         until then tests/browser is skipped"; \
	fi

## The README's screenshots (docs/images/), taken by the browser tier itself.
screenshots: setup browser
	VLLM_TUTORIAL_SCREENSHOTS=docs/images $(PY) -m pytest tests/browser -p no:randomly

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## JupyterLab on notebooks/ with the venv's kernel. tests/browser starts it through this
## target, on a copy of the notebooks (LAB_DIR) with a port and a token of its own (LAB_ARGS).
LAB_DIR ?= notebooks/
## JupyterLab refuses to run as root (a container, CI) unless told it may.
lab: setup
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS) $(LAB_DIR)

## The German edition (notebooks/de/: the same code, German text; scripts/editions.py keeps it
## in step). `LANG` would be the locale's variable, so the edition has a target of its own.
lab-de: LAB_DIR = notebooks/de/
lab-de: lab

cluster-up: setup
	$(PY) -m tutorial_lib.local up

cluster-down: setup
	$(PY) -m tutorial_lib.local down

cluster-status: setup
	$(PY) -m tutorial_lib.local status

## A workshop bundle for this machine's architecture and Python: BUNDLE=path/to/file.tar.
BUNDLE ?= vllm-tutorial-bundle.tar
bundle: setup
	$(PY) -m tutorial_lib.local bundle $(BUNDLE)

bench: setup prepare
	$(PY) benchmarks/local_cluster.py
