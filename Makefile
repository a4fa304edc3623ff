# Linli — the two commands: `make run` (serve the demo) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PWA_STAMP := pwa/node_modules/.installed
export LINLI_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test install pwa bench clean services chromium fonts screenshots

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

pwa/dist/index.html: $(PWA_STAMP) $(shell find pwa/src pwa/public pwa/index.html pwa/console.html pwa/vite.config.js 2>/dev/null)
	cd pwa && npm run build

pwa: pwa/dist/index.html

# The browser tests drive Debian's Chromium; a fresh machine (CI) gets it from apt. Screenshots need
# a CJK font as well. (SUDO is empty when already root.)
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@test -x $(CHROMIUM) || command -v chromium >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

fonts:
	@fc-list :lang=zh 2>/dev/null | grep -q . || ($(SUDO) apt-get update && $(SUDO) apt-get install -y fonts-wqy-microhei)

# The phone app's main screens of each role at 360 × 800 in zh-CN, into docs/screenshots/.
screenshots: install pwa chromium fonts
	LINLI_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -p no:cacheprovider -q tests/e2e/test_screenshots.py

run: install pwa
	$(BIN)/linli db upgrade
	$(BIN)/linli seed-demo --if-empty
	$(BIN)/linli serve

test: install pwa chromium
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench

lock: $(BIN)/python
	$(BIN)/pip freeze --exclude-editable | grep -vi '^linli' > requirements.lock

clean:
	rm -rf $(VENV) pwa/node_modules pwa/dist instance
