# huzhu: `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SEED ?= 1
RUN_ARGS ?=
OUT ?= results/default

# An interpreter >= 3.12 (Mesa 3.5 needs it): PATH first, then pyenv's installed versions.
PYTHON_FOR_VENV := $(shell \
  for c in python3.13 python3.12 python3; do \
    p=$$(command -v $$c 2>/dev/null) && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit 0; }; \
  done; \
  root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
  for p in $$(ls -d $$root/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
    $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; exit 0; }; \
  done)

.PHONY: help venv run test lint bench experiments notebooks figures docs viz browser clean

help:
	@echo "make run    set up .venv, run the default scenario, write $(OUT)/ (RUN_ARGS='--agents N --set NAME=VALUE' to vary it)"
	@echo "make test   set up .venv, check style (ruff), run the whole test suite"
	@echo "make bench  speed and memory at 1e4..1e7 agents, written to benchmarks/results/"
	@echo "make experiments  run the shipped experiments/*.toml into results/NAME/ with reports (about 10 minutes)"
	@echo "make notebooks  run every notebook at full size into results/notebooks/"
	@echo "make figures  remake every figure of the README and docs/ at full size (huzhu figures --list)"
	@echo "make docs   build the documentation site (docs/ and the API reference) into build/site/"
	@echo "make viz    serve the browser app on http://127.0.0.1:8765 (HOST=... PORT=... to change)"
	@echo "make clean  remove .venv and results/"

$(PY):
	@if [ -z "$(PYTHON_FOR_VENV)" ]; then \
	  echo "error: no Python >= 3.12 found on PATH or under pyenv; install one (Mesa 3.5 needs it)" >&2; exit 1; fi
	$(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the package metadata changed (the install is editable, so code edits need none).
$(STAMP): $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/huzhu run --seed $(SEED) --out $(OUT) --overwrite $(RUN_ARGS)

# Test files run in parallel, one file to a worker (module fixtures run once); TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= auto
test: lint browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# The browser test drives Debian's Chromium (Playwright's own browser download does not
# work offline); installed here when missing.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium for the browser test (tests/test_viz_browser.py)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null \
	    || { echo "error: could not install chromium with apt-get; the browser test needs /usr/bin/chromium" >&2; exit 1; }; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Speed and memory, sizes 1e4..1e7 (about 5 minutes on 2 cores); 1e8 agents: see README, Performance.
bench: $(STAMP)
	$(PY) benchmarks/run_benchmarks.py

# Every shipped experiment, resumable (rerun to continue), each with its report.
experiments: $(STAMP)
	@for file in experiments/*.toml; do \
	  name=$$(basename $$file .toml); \
	  command=sweep; grep -q '^\[sensitivity\]' $$file && command=sensitivity; \
	  $(VENV)/bin/huzhu $$command $$file --out results/$$name || exit 1; \
	  $(VENV)/bin/huzhu report results/$$name || exit 1; \
	done

# Every notebook at full size (the README's numbers) into results/notebooks/; `make test`
# runs them at their small size.
notebooks: $(STAMP)
	@mkdir -p results/notebooks
	@for nb in notebooks/*.ipynb; do \
	  name=$$(basename $$nb .ipynb); \
	  echo "notebooks/$$name.ipynb -> results/notebooks/$$name.ipynb"; \
	  HUZHU_NOTEBOOK_SIZE=full $(VENV)/bin/jupyter execute $$nb --output ../results/notebooks/$$name || exit 1; \
	done

# Every figure of the README and docs/ remade at full size from its recipe (huzhu figures --list:
# the commands and their minutes; the calibration's figures rerun its last link, about 40 minutes).
figures: $(STAMP)
	$(VENV)/bin/huzhu figures

# The documentation site (docs/ and the docstrings) into build/site/, built strictly.
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) results build *.egg-info test-artifacts

# The browser app on http://127.0.0.1:8765 (HOST=0.0.0.0 PORT=P to change).
HOST ?= 127.0.0.1
PORT ?= 8765
viz: $(STAMP)
	$(VENV)/bin/huzhu viz --host $(HOST) --port $(PORT)
