# Linli — the two commands: `make run` (serve the demo) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PWA_STAMP := pwa/node_modules/.installed
export LINLI_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test install pwa bench clean services

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs are pinned by requirements.lock (regenerate with `make lock`).
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(PWA_STAMP): pwa/package.json pwa/package-lock.json
	cd pwa && npm ci --no-audit --no-fund
	touch $(PWA_STAMP)

pwa/dist/index.html: $(PWA_STAMP) $(shell find pwa/src pwa/public pwa/index.html pwa/vite.config.js 2>/dev/null)
	cd pwa && npm run build

pwa: pwa/dist/index.html

run: install pwa
	$(BIN)/linli db upgrade
	$(BIN)/linli seed-demo --if-empty
	$(BIN)/linli serve

test: install
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench.dispatch

lock: $(BIN)/python
	$(BIN)/pip freeze --exclude-editable | grep -vi '^linli' > requirements.lock

clean:
	rm -rf $(VENV) pwa/node_modules pwa/dist instance
