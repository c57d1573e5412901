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

run: install
	@echo "Dry run of the welcome example (the live server arrives with the backend):"
	$(BIN)/castflow simulate flows/examples/welcome_series.json \
		--contacts flows/examples/data/contacts.jsonl \
		--events flows/examples/data/welcome_series.events.jsonl \
		--start 2026-03-02T08:00:00Z --horizon P7D

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
