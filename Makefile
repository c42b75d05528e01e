# Two commands: `make run` and `make test`. Everything else is set up on demand:
# a pinned uv in .tools/, the locked environment in .venv/, databases embedded.
# Every target has a `## ` line: `make help` lists them (tests/deploy checks that none lacks one).
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
COVERAGE_MIN := 95
# Run from a service's folder, coverage would not find the root pyproject.toml: without this it
# measures lines only (no branches) and misses code run in SQLAlchemy's greenlets.
COV_CONFIG := --cov-config=$(CURDIR)/pyproject.toml
# A tier run as its own stage (CI) keeps its coverage data in its own file; coverage-gate
# combines the four, so a stale or missing tier cannot pass unnoticed.
TIERS := unit integration contract e2e
TIER_COVERAGE = COVERAGE_FILE=.coverage.$(1) $(BIN)/pytest --cov=app $(COV_CONFIG) --cov-report=
# Pact must not try to phone home: this machine (and CI) has no network beyond package registries.
export PACT_DO_NOT_TRACK := true

.PHONY: help setup run test lint lint-ruff lint-format typecheck format test-unit test-integration \
	test-contract test-e2e coverage-gate test-servicekit test-deploy browser bench clean

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([^:]+):.*## (.*)$$/\1\t\2/' \
		| awk -F'\t' '{ printf "make %-18s %s\n", $$1, $$2 }'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked
	@touch $@

setup: $(VENV)/.synced ## install the pinned uv and the locked environment (every target does it)

run: setup ## start the users service (embedded PostgreSQL, migrations applied)
	$(BIN)/python -m devtools.run_users

test: lint browser test-servicekit test-deploy ## lint, type-check, servicekit, deployment files, every tier with the coverage gate
	$(PYTEST) -n $(PYTEST_WORKERS) --cov=app $(COV_CONFIG) --cov-report=term-missing:skip-covered --cov-fail-under=$(COVERAGE_MIN)

lint: lint-ruff lint-format typecheck ## ruff check, ruff format --check and mypy --strict (pre-commit runs the same)

lint-ruff: setup ## ruff check
	$(BIN)/ruff check .

lint-format: setup ## ruff format --check
	$(BIN)/ruff format --check .

typecheck: setup ## mypy --strict on the service code and servicekit
	cd $(USERS) && $(BIN)/mypy --config-file $(CURDIR)/pyproject.toml
	$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml servicekit

format: setup ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-unit: setup ## the unit tier (coverage kept for coverage-gate)
	cd $(USERS) && $(call TIER_COVERAGE,unit) -m unit

test-integration: setup ## the integration tier, migrations included (coverage kept)
	cd $(USERS) && $(call TIER_COVERAGE,integration) -n $(PYTEST_WORKERS) -m "integration or migrations"

test-contract: setup ## the contract tier, Pact consumer and provider (coverage kept)
	cd $(USERS) && $(call TIER_COVERAGE,contract) -m contract

test-e2e: setup ## the end-to-end tier (coverage kept)
	cd $(USERS) && $(call TIER_COVERAGE,e2e) -m e2e

coverage-gate: setup ## fail under COVERAGE_MIN (95%) coverage over the four tiers' data (run the tier targets first)
	cd $(USERS) && $(BIN)/coverage combine --rcfile=$(CURDIR)/pyproject.toml --keep --data-file=.coverage.tiers \
		$(addprefix .coverage.,$(TIERS)) && $(BIN)/coverage report --rcfile=$(CURDIR)/pyproject.toml \
		--data-file=.coverage.tiers --skip-covered --fail-under=$(COVERAGE_MIN)

test-servicekit: setup ## the shared package's own tests
	$(BIN)/pytest servicekit/tests

test-deploy: setup ## offline checks of Dockerfiles, compose files, CI workflow, pre-commit and Kubernetes manifests
	$(BIN)/pytest tests/deploy

# The browser test needs Chromium: installed from Debian where this runs as root with apt-get
# (CI does); anywhere else the test is skipped with the reason, and this step changes nothing.
browser: ## install Debian's chromium for the browser test (root with apt-get only)
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "chromium could not be installed: the browser test will be skipped"; \
	else echo "no chromium and no root apt-get: the browser test will be skipped"; fi

bench: setup ## the read-path benchmark (ratio against a raw asyncpg endpoint)
	$(BIN)/python -m bench.read_by_id

clean: ## remove the tools, the environment, local data and caches
	rm -rf $(TOOLS) $(VENV) .data .mypy_cache .ruff_cache $(USERS)/.coverage*
