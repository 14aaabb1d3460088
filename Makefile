# WMI Certify: two commands for a newcomer (`make serve`, `make test`); the rest are helpers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
SERVE_STAMP := $(VENV)/.installed-serve
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test lint typecheck check-files browser fonts node-deps venv clean

# What serving needs only (no test tools): `make serve` on a fresh clone installs this alone,
# with uv (parallel downloads: 16 s instead of pip's 106 s from a cold cache on this machine).
$(SERVE_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'uv>=0.5'
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e .
	touch $(SERVE_STAMP)

# Everything, with the test tools (make test, lint, check-files).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'uv>=0.5'
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]'
	touch $(STAMP) $(SERVE_STAMP)

venv: $(STAMP)

## make serve [PORT=8101] [HOST=127.0.0.1]: install what serving needs, migrate var/wmi.db, load
## content and banks, demo admin, serve; links, QR codes and the did:web issuer follow HOST:PORT
## unless WMI_BASE_URL is set
serve: $(SERVE_STAMP)
	$(BIN)/wmi serve --demo --host $(HOST) --port $(PORT)

## make test: install (with Chromium for the browser tests) and run everything
test: $(STAMP) browser fonts node-deps lint typecheck check-files
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app tests bench alembic
	$(BIN)/ruff format --check app tests bench alembic
	$(BIN)/lint-imports

## make typecheck: mypy on app/ at the strictness pyproject.toml sets per package (docs/ARCHITECTURE.md)
typecheck: $(STAMP)
	$(BIN)/mypy

check-files: $(STAMP)
	$(BIN)/wmi content check
	$(BIN)/wmi bank check

browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

## make fonts: the Noto families and Symbola, so certificates print every name (Debian packages)
fonts:
	@test -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc -a \
	  -f /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf -a \
	  -f /usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	  fonts-noto-core fonts-noto-cjk fonts-symbola >/dev/null; }

node-deps:
	@for d in tests/interop tests/e2e tests/oidc; do if [ -f $$d/package-lock.json ]; then \
	  (cd $$d && npm ci --no-audit --no-fund --silent); fi; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
