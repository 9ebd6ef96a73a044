# The few commands a newcomer needs. `make run` sets everything up and runs the pipeline;
# `make test` runs the whole test suite (it installs and starts what the tests need).
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
FMNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
APT := $(shell command -v apt-get 2>/dev/null)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup lock run test test-fast lint bench services postgres chromium fashion-mnist ui dashboard clean

setup: $(VENV)/.installed fashion-mnist  ## venv + the locked dependencies + the default dataset

# The exact versions of requirements.lock, then trainlab itself: the lock holds every
# dependency, so pip resolves nothing (--no-deps), and `pip check` fails when pyproject.toml
# asks for something the lock lacks (run `make lock`). pip, not uv: torch and torchvision come
# from the local disk through pip's configuration (/etc/xdg/pip), which uv does not read.
$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	@# The locked pip first: the venv's own (23.2 with Python 3.11.7) installs the lock ~45 s slower.
	$(PY) -m pip install --quiet "$$(grep '^pip==' requirements.lock)"
	@# Byte-compiled on both cores (compileall -j 0) rather than by pip, one file after another:
	@# ~25 s less on 2 cores. -qq and `|| true`: as pip does, a file written for a newer Python
	@# (torch ships one) is left uncompiled; Python compiles anything left on import.
	$(PY) -m pip install --quiet --no-deps --no-compile -r requirements.lock
	$(PY) -m compileall -qq -j 0 $(VENV)/lib || true
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $@

# Keeps the pins already in requirements.lock (pip-tools reuses them); to move them all to the
# newest allowed versions: make lock PIP_COMPILE_ARGS=--upgrade (or --upgrade-package NAME).
lock:  ## requirements.lock from pyproject.toml (the main and dev dependencies)
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@[ -x $(VENV)/bin/pip-compile ] || $(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --extra dev --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links $(PIP_COMPILE_ARGS) \
		-o requirements.lock pyproject.toml

fashion-mnist:  ## Debian's dataset-fashion-mnist, when missing and apt-get is available
	@if [ ! -f $(FMNIST) ] && [ -n "$(APT)" ]; then \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist; \
	fi
	@[ -f $(FMNIST) ] || echo "note: Fashion-MNIST not in /usr/share/datasets; trainlab will try to download it"

run: setup  ## the whole DVC pipeline on the default params
	dvc repro

test: setup services  ## the whole test suite, slow tests included
	$(PY) -m pytest -q

test-fast: setup  ## the tests not marked slow
	$(PY) -m pytest -q -m "not slow"

services: postgres chromium  ## what the tests need beyond Python

postgres:  ## a PostgreSQL server on 127.0.0.1:5432 for the multi-machine search tests
	@bash scripts/postgres.sh

chromium:  ## headless Chromium for the report rendering test
	@command -v chromium >/dev/null || { [ -n "$(APT)" ] && $(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq chromium; } || echo "note: chromium unavailable; browser tests skip"

lint: setup  ## ruff over the code and tests; mypy over src/ (its settings: pyproject.toml)
	$(VENV)/bin/ruff check src stages tests bench
	$(VENV)/bin/mypy

bench: setup  ## the benchmarks under bench/, results in bench/results/
	$(PY) -m bench.run_all

ui: setup  ## the MLflow UI on 127.0.0.1:5000
	$(VENV)/bin/trainlab ui

dashboard: setup  ## optuna-dashboard on the search's study, 127.0.0.1:8080
	$(VENV)/bin/trainlab dashboard

# Every out and metric of dvc.yaml, the MLflow and Optuna databases with MLflow's artifact folder
# (mlruns/ beside mlflow.db), and Lightning's default log folder; tests/test_makefile.py checks
# it against dvc.yaml. Downloaded raw datasets (data/raw) stay: they are inputs.
clean:  ## everything the pipeline writes: prepared data, models, reports, tracking databases
	rm -rf data/prepared models reports/*.json reports/*.csv reports/index.html \
		reports/report.md reports/figures reports/curves metrics reports/plots mlflow.db mlflow.db-wal mlflow.db-shm \
		mlruns mlartifacts optuna.db optuna.db-journal optuna.journal lightning_logs
