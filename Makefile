# Threadline developer commands. `make dev` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export XDG_RUNTIME_DIR ?= /tmp/threadline-runtime-$(shell id -u)

.DEFAULT_GOAL := help
.PHONY: help install dev demo test unit integration e2e lint fmt schema bench bench-quick clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## Create .venv and install Threadline with its dev tools

dev: $(STAMP) ## Run the whole stack locally (embedded broker + PostgreSQL), Ctrl-C to stop
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/threadline dev

demo: $(STAMP) ## Like dev, and load a synthetic journey set
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/threadline dev --demo

test: $(STAMP) lint ## Lint, then the whole suite: unit, integration (real broker + PostgreSQL), e2e
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(BIN)/pytest -q -p no:cacheprovider tests

unit: $(STAMP) ## Unit tests only (no I/O)
	$(BIN)/pytest -q tests/unit

lint: $(STAMP) ## ruff (lint + format check), mypy, import-linter, schema file in sync
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
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

clean: ## Remove build output and the dev data folder
	rm -rf build .threadline .pytest_cache .mypy_cache .ruff_cache
