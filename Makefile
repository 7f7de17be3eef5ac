# Ishenim: every command a developer or a deployer needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
FUZZ_CASES ?= 500
FUZZ_SEED ?= $(shell date +%s)

.DEFAULT_GOAL := help
.PHONY: help install install-dev browser run test test-js test-other-zone test-postgres lint verify migration screenshots bench fuzz faults audit clean

help: ## List every target with what it does
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime ## Create .venv and install what the server needs

install-dev: $(VENV)/.dev ## Install what the tests, linters and benchmarks need too

browser: ## Install Debian's Chromium (and fonts) for the browser tests, where it is missing
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core poppler-utils; }

run: install ## Migrate, add the demo school on an empty database, serve http://127.0.0.1:5000 (SQLite)
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install-dev browser test-js ## Run the whole suite: JavaScript modules, then Python and browser tests (SQLite)
	$(BIN)/pytest

# The node tests' own packages (package.json: fake-indexeddb), again whenever the lock file changes.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test-js: node_modules/.installed ## Run the PWA's JavaScript module tests (node --test)
	node --test tests/js/

test-other-zone: install-dev browser ## JavaScript and browser tests on a host whose date is not the school's (Bishkek's) now
	@zone="$$($(BIN)/python -m tests.clock)"; \
	echo "host TZ=$$zone: $$(TZ=$$zone date '+%F %H:%M'); the school's: $$(TZ=Asia/Bishkek date '+%F %H:%M')"; \
	TZ="$$zone" node --test tests/js/ && TZ="$$zone" $(BIN)/pytest tests/browser

test-postgres: install-dev browser ## Run the suite on a local PostgreSQL cluster, starting (or installing) it first
	DATABASE_URL="$$(bash .ci/postgres)" $(BIN)/pytest

lint: install-dev ## ruff, mypy (strict on server/ and sync/), and the architecture's import rules (Python and the PWA)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	node --test tests/js/architecture.test.mjs

verify: install ## Check every journal's hash chain, ciphertexts and rows
	$(FLASK) verify

migration: install-dev ## Generate a migration from model changes: make migration m="what changed"
	$(FLASK) db migrate -m "$(m)"

screenshots: install-dev browser ## Remake the README's screenshots (docs/screenshots/) from the real app
	ISHENIM_SCREENSHOTS=1 $(BIN)/pytest -q tests/browser/test_pwa.py tests/browser/test_pwa_week.py -k 'screenshots or a_week_offline'

bench: install-dev browser ## Benchmarks with their budgets (starts the local PostgreSQL for the district's)
	ISHENIM_BENCH_POSTGRES="$${ISHENIM_BENCH_POSTGRES:-$$(bash .ci/postgres)}" \
		$(BIN)/pytest benchmarks -s -q -p no:cacheprovider

fuzz: install-dev ## Fuzz the API longer than CI, on a new seed each run: make fuzz FUZZ_CASES=2000 FUZZ_SEED=7
	ISHENIM_FUZZ_CASES=$(FUZZ_CASES) ISHENIM_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest tests/test_fuzz.py -s -q -p no:cacheprovider

faults: install-dev ## Sync under injected faults and kill -9 of gunicorn, 1,000 runs: make faults FAULT_RUNS=… FAULT_SEED=…
	ISHENIM_FAULT_RUNS=$(or $(FAULT_RUNS),1000) ISHENIM_FAULT_SEED=$(FAULT_SEED) \
		$(BIN)/pytest tests/test_faults.py -q -p no:cacheprovider -k randomized

audit: install-dev ## Check every installed package against the known vulnerabilities (pip-audit); one fails
	$(BIN)/python .ci/audit.py

clean: ## Remove .venv and caches (never instance/: it holds the data and the key)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks
