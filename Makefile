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
ORDERS := services/orders
# Coverage of a service: its app and the parts of servicekit it is built on (moved code stays measured).
# Run from a service's folder, coverage would not find the root pyproject.toml: without naming it,
# it measures lines only (no branches) and misses code run in SQLAlchemy's greenlets.
COV_CONFIG := --cov-config=$(CURDIR)/pyproject.toml
SERVICEKIT_users := settings errors exceptions database dependencies migrations health readiness application testing
SERVICEKIT_orders := application errors exceptions middleware database dependencies migrations health db_errors readiness settings testing
COVERAGE_users := --cov=app $(COV_CONFIG) $(foreach module,$(SERVICEKIT_users),--cov=servicekit.$(module))
COVERAGE_orders := --cov=app $(COV_CONFIG) $(foreach module,$(SERVICEKIT_orders),--cov=servicekit.$(module))
# Every target runs the orders service first: its consumer contract tests write the pact that
# the users service then verifies.
# $(call in_service,SERVICE,COMMAND): COMMAND in services/SERVICE.
in_service = cd services/$(1) && $(2)
# $(call pytest_in,SERVICE,ARGS): pytest in services/SERVICE with that service's coverage.
pytest_in = $(call in_service,$(1),$(BIN)/pytest $(COVERAGE_$(1)) $(2))
PYTEST_WORKERS ?= auto
COVERAGE_MIN := 95
# A tier run as its own stage (CI) keeps its coverage data in its own file; coverage-gate
# combines the four, so a stale or missing tier cannot pass unnoticed.
TIERS := unit integration contract e2e
# $(call tier_in,SERVICE,TIER,ARGS): one tier of one service, its coverage data kept in .coverage.TIER.
tier_in = $(call in_service,$(1),COVERAGE_FILE=.coverage.$(2) $(BIN)/pytest $(COVERAGE_$(1)) --cov-report= $(3))
GATE = --cov-report=term-missing:skip-covered --cov-fail-under=$(COVERAGE_MIN)
# Pact must not try to phone home: this machine (and CI) has no network beyond package registries.
export PACT_DO_NOT_TRACK := true
# Bytecode is cached (__pycache__/, ignored by git) even where the environment asks Python not to
# write it: every process a run starts (pytest and its workers, the servers the e2e tiers start,
# Alembic, the CLI) would otherwise compile each module it imports from source, several seconds
# a process, and pytest could not keep its rewritten test modules.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup run test test-stages test-services test-consumer test-orders test-users test-fuzz test-fuzz-orders test-fuzz-users lint lint-ruff lint-format typecheck format test-unit test-integration \
	test-contract test-e2e test-system coverage-gate test-servicekit test-deploy test-repeat browser bench bench-tests mutation clean

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

run: setup ## start the whole system: users API :8000, orders API :8001, orders worker (embedded PostgreSQL, migrations applied)
	$(BIN)/python -m devtools.run_system

# `make test` runs its stages side by side: alone, each leaves a core idle much of the time
# (mypy, pytest's start-up, real processes starting, waits for a worker). Each stage's output is
# printed whole when it ends (--output-sync). TEST_JOBS=1 runs them one after another.
TEST_JOBS ?= 8
test: setup browser ## lint, type-check, servicekit, deployment files, every tier of both services with the coverage gate, the system e2e tier
	$(MAKE) --no-print-directory -j $(TEST_JOBS) --output-sync=target test-stages

test-stages: test-services lint test-servicekit test-deploy test-system ## what `make test` runs, side by side with -j

# Inside `make test`, type-checking yields the CPU to the rest (nice), whose tests have deadlines
# and whose consumer contract tests start the longest chain (the users suite waits for them).
# Nothing that starts a server or waits for one is niced: a niced process gets about a tenth of a
# contended core, and so do its children (servicekit's two-worker server test missed its 60 s
# readiness deadline that way). Run alone, nothing is niced.
test-stages: YIELDING := nice -n 10

test-services: test-orders test-users test-fuzz ## both services' suites, every tier, each with its coverage gate

# The orders service's consumer contract tests run first: they check the pact in pacts/ that the
# users service's provider verification reads. Their coverage is appended to by the rest of the suite.
test-consumer: setup ## the orders service's Pact consumer tests (the first step of make test-services)
	$(call pytest_in,orders,--cov-report= -m contract)

# Coverage counts what the example-based tests prove. The API fuzz tests (Schemathesis) assert
# properties of every answer (no 5xx, the documented status and body) and run outside the
# measurement, in a run of their own: traced, they took more than twice as long (57 s of CPU
# untraced, 132 s traced, for the users service's). Left out by path, not by marker, so the
# measured runs do not build their tests (Schemathesis derives them from the OpenAPI document).
FUZZ_TESTS := tests/integration/test_api_fuzz.py

test-orders: test-consumer ## the orders service's suite (but its consumer and fuzz tests), gated on its coverage with the consumer's
	$(call pytest_in,orders,--cov-append -n $(PYTEST_WORKERS) -m "not contract" --ignore=$(FUZZ_TESTS) $(GATE))

test-users: test-consumer ## the users service's suite (but its fuzz tests), every tier, with its coverage gate
	$(call pytest_in,users,-n $(PYTEST_WORKERS) --ignore=$(FUZZ_TESTS) $(GATE))

test-fuzz: test-fuzz-orders test-fuzz-users ## both services' API fuzz tests (Schemathesis), outside the coverage measurement

# Two targets, so that make test runs them side by side: one after the other, the users service's
# (a minute of CPU in one process) was the last thing running, on one core.
test-fuzz-orders: setup ## the orders service's API fuzz tests
	$(call in_service,orders,$(BIN)/pytest $(FUZZ_TESTS))

test-fuzz-users: setup ## the users service's API fuzz tests
	$(call in_service,users,$(BIN)/pytest $(FUZZ_TESTS))

lint: lint-ruff lint-format typecheck ## ruff check, ruff format --check and mypy --strict (pre-commit runs the same)

lint-ruff: setup ## ruff check
	$(BIN)/ruff check .

lint-format: setup ## ruff format --check
	$(BIN)/ruff format --check .

# One cache for the three runs: the second and third reuse what the first learnt of the standard
# library and the dependencies (58 s cold for the three with a cache each, 28 s with one). mypy
# checks each cached module against its source file (path and hash), so the two services' `app`
# packages do not stand in for each other.
MYPY = $(YIELDING) $(BIN)/mypy --config-file $(CURDIR)/pyproject.toml --cache-dir $(CURDIR)/.mypy_cache
typecheck: setup ## mypy --strict on the service code and servicekit
	$(call in_service,orders,$(MYPY))
	$(call in_service,users,$(MYPY))
	$(MYPY) servicekit

format: setup ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-unit: setup ## the unit tier of every service (coverage kept for coverage-gate)
	$(call tier_in,orders,unit,-m unit)
	$(call tier_in,users,unit,-m unit)

test-integration: setup ## the integration tier of every service, migrations included (coverage kept)
	$(call tier_in,orders,integration,-n $(PYTEST_WORKERS) -m "integration or migrations")
	$(call tier_in,users,integration,-n $(PYTEST_WORKERS) -m "integration or migrations")

test-contract: setup ## the contract tier: the orders service's Pact consumer tests, then the users service's verification
	$(call tier_in,orders,contract,-m contract)
	$(call tier_in,users,contract,-m contract)

test-e2e: setup ## the end-to-end tier of every service (coverage kept), then the whole system's
	$(call tier_in,orders,e2e,-m e2e)
	$(call tier_in,users,e2e,-m e2e)
	$(MAKE) --no-print-directory test-system

test-system: setup ## the whole system as real processes (users API, orders API, worker) over HTTP: tests/e2e
	$(BIN)/pytest tests/e2e

coverage-gate: setup ## fail under COVERAGE_MIN (95%) coverage over the four tiers' data (run the tier targets first)
	$(call in_service,orders,$(BIN)/coverage combine --rcfile=$(CURDIR)/pyproject.toml --keep --data-file=.coverage.tiers $(addprefix .coverage.,$(TIERS)) && $(BIN)/coverage report --rcfile=$(CURDIR)/pyproject.toml --data-file=.coverage.tiers --skip-covered --fail-under=$(COVERAGE_MIN))
	$(call in_service,users,$(BIN)/coverage combine --rcfile=$(CURDIR)/pyproject.toml --keep --data-file=.coverage.tiers $(addprefix .coverage.,$(TIERS)) && $(BIN)/coverage report --rcfile=$(CURDIR)/pyproject.toml --data-file=.coverage.tiers --skip-covered --fail-under=$(COVERAGE_MIN))

test-servicekit: setup ## the shared package's own tests
	$(BIN)/pytest servicekit/tests

test-deploy: setup ## offline checks of Dockerfiles, compose files, CI workflow, pre-commit and Kubernetes manifests
	$(BIN)/pytest -n $(PYTEST_WORKERS) tests/deploy

RUNS ?= 20
test-repeat: ## run `make test` RUNS times (20), each with its own random test order; results in .data/repeat/
	$(PYTHON) -m devtools.repeat_test --runs $(RUNS)

# The browser test needs Chromium: installed from Debian where this runs as root with apt-get
# (CI does); anywhere else the test is skipped with the reason, and this step changes nothing.
browser: ## install Debian's chromium for the browser test (root with apt-get only)
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "chromium could not be installed: the browser test will be skipped"; \
	else echo "no chromium and no root apt-get: the browser test will be skipped"; fi

# Not part of `make test`: minutes long, and meaningful only on a quiet machine.
# BENCH_ARGS passes options, e.g. BENCH_ARGS='--seconds 2 --rounds 1 --users 500 --posts 2000' (a smoke run).
bench: setup ## the whole system against a framework-free ASGI baseline, every scenario with wrk; results in bench/results/
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-tests: setup ## the test suite's speed: wall time per tier, per-test database overhead, parallel speed-up (BENCH_TESTS_ARGS)
	$(BIN)/python -m bench.suite_speed $(BENCH_TESTS_ARGS)

# Not part of `make test` (slow). Each service in turn (SERVICE=orders: one of them); fails when
# either has a surviving mutant that is not accepted. Mutant names are the service's own modules
# (app.services.*), alike in both services: rerunning some (MUTANTS=) needs SERVICE.
MUTATION_CHILDREN ?= 2
SERVICE ?=
MUTANTS ?=
mutation: setup ## mutation testing of both services (SERVICE=orders: one; SERVICE=users MUTANTS='app.utils.jwt.*' reruns some)
	$(if $(and $(MUTANTS),$(if $(SERVICE),,missing)),$(error MUTANTS names mutants of one service: add SERVICE=users or SERVICE=orders))
	@status=0; for service in $(or $(SERVICE),orders users); do \
		$(BIN)/python -m devtools.mutation --service $$service --max-children $(MUTATION_CHILDREN) $(MUTANTS) || status=1; \
	done; exit $$status

clean: ## remove the tools, the environment, local data and caches
	rm -rf $(TOOLS) $(VENV) .data .mypy_cache .ruff_cache $(USERS)/.coverage* $(ORDERS)/.coverage* $(USERS)/mutants $(ORDERS)/mutants
