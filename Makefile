# WMI Certify: two commands for a newcomer (`make serve`, `make test`); the rest are helpers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: serve test lint check-files browser node-deps venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## make serve: install, migrate var/wmi.db, load content and banks, demo admin, serve :8000
serve: $(STAMP)
	$(BIN)/wmi serve --demo

## make test: install (with Chromium for the browser tests) and run everything
test: $(STAMP) browser node-deps lint check-files
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app tests bench alembic
	$(BIN)/ruff format --check app tests bench alembic
	$(BIN)/lint-imports

check-files: $(STAMP)
	$(BIN)/wmi content check
	$(BIN)/wmi bank check

browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

node-deps:
	@if [ -f tests/interop/package-lock.json ]; then \
	  (cd tests/interop && npm ci --no-audit --no-fund --silent); fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
