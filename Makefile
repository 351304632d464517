# Threadline developer commands. `make dev` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed-$(shell cat deploy/requirements-tools.txt | sha1sum | cut -c1-12)
# pytest-xdist processes for `make test`; each test file runs whole in one of them.
TEST_PROCESSES ?= 2
export XDG_RUNTIME_DIR ?= /tmp/threadline-runtime-$(shell id -u)

.DEFAULT_GOAL := help
.PHONY: help install chromium sdks dev demo test faults unit integration e2e lint fmt schema bench bench-quick soak clean deploy-check

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) $(TOOLS_STAMP) chromium sdks ## Create .venv (Threadline + dev tools), .venv-tools (deploy-check), the test SDKs

$(TOOLS_STAMP): deploy/requirements-tools.txt
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet -r deploy/requirements-tools.txt
	@rm -f $(TOOLS)/.installed-*; touch $@

deploy-check: $(TOOLS_STAMP) ## Render the Helm chart, validate it offline, checkov scan, policy checks
	$(TOOLS)/bin/python deploy/check.py

# The console's browser tests drive Debian's chromium (Playwright cannot download browsers here).
chromium: ## Install Debian's chromium for the browser tests, when it is missing
	@test -x /usr/bin/chromium || command -v chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The vendors' JavaScript SDKs the tests send with (analytics-next and the RudderStack browser
# SDK in Chromium, the RudderStack Node SDK): pinned by the committed lock file, never a CDN.
SDKS := tests/e2e/sdks
SDKS_STAMP := $(SDKS)/node_modules/.installed-$(shell sha1sum < $(SDKS)/package-lock.json | cut -c1-12)

sdks: $(SDKS_STAMP) ## Install the test SDKs from npm (npm ci with the lock file), when they changed

$(SDKS_STAMP): $(SDKS)/package-lock.json $(SDKS)/package.json
	@command -v npm >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	cd $(SDKS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

dev: $(STAMP) ## Run the whole stack locally (embedded broker + PostgreSQL), Ctrl-C to stop
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/threadline dev

demo: $(STAMP) ## Like dev, and load a synthetic journey set
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/threadline dev --demo

test: $(STAMP) chromium sdks lint deploy-check ## Lint, deploy-check, then the whole suite: unit, integration (real broker + PostgreSQL), e2e
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/pytest -q -p no:cacheprovider -m "not faults" -n $(TEST_PROCESSES) --dist loadfile \
		--durations=15 --basetemp=$(CURDIR)/build/pytest tests

faults: $(STAMP) ## Fault tests (PostgreSQL restart, rebalance, kill -9, slow DB) with reconciliation figures
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/pytest -q -p no:cacheprovider -rP tests/integration/test_faults.py \
		tests/integration/test_worker.py::test_worker_killed_mid_stream_loses_and_duplicates_nothing

unit: $(STAMP) ## Unit tests only (no I/O)
	$(BIN)/pytest -q tests/unit

lint: $(STAMP) ## ruff (lint + format check), mypy, import-linter, schema file in sync
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --strict --ignore-missing-imports deploy/check.py
	$(BIN)/lint-imports
	$(BIN)/threadline schema --check

fmt: $(STAMP) ## Format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: $(STAMP) ## Re-export the canonical event JSON Schema
	$(BIN)/threadline schema

bench: $(STAMP) ## Benchmarks, full size (1M customers, 10M events; not part of make test); ARGS=--quick etc.
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/python -m bench $(ARGS)

bench-quick: $(STAMP) ## Benchmarks at the quick size (10k customers, 100k events, 30 s soak)
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/python -m bench --quick $(ARGS)

soak: $(STAMP) ## The embedded stack as `make dev` runs it, 30 min at a constant rate: memory and freshness per minute; ARGS=--minutes N --rate R
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/python -m bench.soak $(ARGS)

clean: ## Remove build output and the dev data folder
	rm -rf build .threadline $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
