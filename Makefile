# Two commands: `make run` and `make test`. Everything else is set up on demand:
# a pinned uv in .tools/, the locked environment in .venv/, databases embedded.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
USERS := services/users
PYTEST := cd $(USERS) && $(BIN)/pytest
PYTEST_WORKERS ?= auto
# Pact must not try to phone home: this machine (and CI) has no network beyond package registries.
export PACT_DO_NOT_TRACK := true

.PHONY: help setup run test lint format test-unit test-integration test-contract test-e2e test-servicekit browser bench mutation clean

help:
	@echo "make run    start the users service (embedded PostgreSQL, migrations applied)"
	@echo "make test   lint, type-check and run every test tier with the coverage gate"
	@echo "make test-unit | test-integration | test-contract | test-e2e   one tier"
	@echo "make test-servicekit   the shared package's own tests"
	@echo "make browser   install Debian's chromium for the browser test (root with apt-get only)"
	@echo "make bench  the read-path benchmark (ratio against a raw asyncpg endpoint)"
	@echo "make mutation  mutation testing of the users service (slow; MUTANTS='app.utils.jwt.*' reruns some)"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked
	@touch $@

setup: $(VENV)/.synced

run: setup
	$(BIN)/python -m devtools.run_users

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(USERS) && $(BIN)/mypy --config-file $(CURDIR)/pyproject.toml
	$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml servicekit

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint browser test-servicekit
	$(PYTEST) -n $(PYTEST_WORKERS) --cov=app --cov-report=term-missing:skip-covered --cov-fail-under=95

test-unit: setup
	$(PYTEST) -m unit

test-integration: setup
	$(PYTEST) -n $(PYTEST_WORKERS) -m "integration or migrations"

test-contract: setup
	$(PYTEST) -m contract

test-e2e: setup
	$(PYTEST) -m e2e

test-servicekit: setup
	$(BIN)/pytest servicekit/tests

# The browser test needs Chromium: installed from Debian where this runs as root with apt-get
# (CI does); anywhere else the test is skipped with the reason, and this step changes nothing.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "chromium could not be installed: the browser test will be skipped"; \
	else echo "no chromium and no root apt-get: the browser test will be skipped"; fi

bench: setup
	$(BIN)/python -m bench.read_by_id

# Not part of `make test`: about half an hour. Fails on a surviving mutant that is not accepted.
MUTATION_CHILDREN ?= 2
mutation: setup
	$(BIN)/python -m devtools.mutation --max-children $(MUTATION_CHILDREN) $(MUTANTS)

clean:
	rm -rf $(TOOLS) $(VENV) .data .mypy_cache .ruff_cache $(USERS)/.coverage* $(USERS)/mutants
