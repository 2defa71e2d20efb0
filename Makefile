# mlharness: two commands on a fresh machine, `make demo` and `make test`.
# The venv is created here and reused while requirements.txt and pyproject.toml are unchanged.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REQ_HASH := $(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(REQ_HASH)
export PATH := $(abspath $(BIN)):$(PATH)
# pytest workers: one per core (2 on CI).
XDIST ?= auto

.PHONY: help setup demo test test-fast lint bench bench-docs docs clean debian-packages demo-packages bench-packages

help:
	@echo "make demo   - install the demo's Debian packages, create .venv, then sweep, promote, Airflow, serve, drift and monitoring in one run"
	@echo "make test   - create .venv, install test tools and Debian packages, run the whole suite"
	@echo "make lint   - ruff, mypy (strict) and the import-linter layer contract"
	@echo "make bench  - benchmarks: comparison tables on stdout, JSON under bench/results/"
	@echo "make bench-docs - only the benchmarks behind docs/benchmarks.md's targets table"
	@echo "make docs   - write the reference pages from the code, build the site into site/"
	@echo "make setup  - only create/refresh .venv"
	@echo "make clean  - remove .venv and local run output (mlruns/, mlflow.db)"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e '.[dev,airflow]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

# The demo's Debian packages (.ci/demo-packages.txt) first: as root the missing ones are
# installed; otherwise one line names the apt-get command and make stops (exit 2) before the
# venv is built and before any step runs.
demo: demo-packages setup
	$(BIN)/python -m orchestration.demo

demo-packages:
	@bash .ci/install-debian-packages .ci/demo-packages.txt

debian-packages:
	@bash .ci/install-debian-packages

bench-packages:
	@bash .ci/install-debian-packages .ci/bench-packages.txt

# --dist loadgroup is taken over by tests/conftest.py's scheduler (tests/support/scheduling.py):
# one test module per worker (its fixtures built once; only a module over 1/8 of the suite is
# spread), longest first by tests/durations.json
# (refresh: python -m tests.support.scheduling JUNIT_XML). xdist_group marks are not read
# (pytest 9.2 ignores the node ids xdist 3.8 rewrites): shared costly state uses file locks.
test: setup debian-packages
	$(BIN)/python -m pytest -n $(XDIST) --dist loadgroup --durations=30 $(PYTEST_ARGS)

# Unit tests only: seconds, no mlflow runs.
test-fast: setup
	$(BIN)/python -m pytest -n $(XDIST) tests/unit $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check harness registry_tools orchestration monitoring tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: bench-packages setup
	$(BIN)/python bench/run_all.py

# Only the rows of docs/benchmarks.md's targets table (issue 21), for a quiet-machine run.
bench-docs: bench-packages setup
	$(BIN)/python bench/run_all.py --docs

# The reference pages come from the code (docs/tools/gen_reference.py), then the site is
# built with --strict: a broken link or a page missing from the nav fails the build.
docs: setup
	$(BIN)/python docs/tools/gen_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) mlruns mlflow.db mlartifacts site
