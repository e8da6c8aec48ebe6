# Task runner. `make run` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: install run reset-demo test test-fast lint bench browser clean

$(STAMP): pyproject.toml constraints.txt
	@echo "Installing the pinned dependencies into $(VENV)/ (first run: about 3 minutes; later runs skip this)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@set -o pipefail; $(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | { grep -v '^WARNING: Location' || true; }
	@set -o pipefail; $(BIN)/python -m pip install -c constraints.txt -e '.[dev]' 2>&1 \
	  | grep --line-buffered -vE '^(Requirement already satisfied|  |Using cached|Downloading|Looking in|WARNING: Location)' \
	  | sed -u 's/^/  /' || { echo "The install failed; see the messages above."; exit 1; }
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

## Serve the app with demo data on the embedded SQLite database (instance/calibration.sqlite3).
## Mail goes to instance/outbox/*.eml unless MAIL_BACKEND is set. Background jobs run in the server's
## own process (JOBS_INLINE_WORKER), queued in instance/jobs-queue.sqlite3: no extra service.
MAIL_BACKEND ?= outbox
run: install
	$(BIN)/flask --app wsgi migrate
	$(BIN)/flask --app wsgi seed-demo
	MAIL_BACKEND=$(MAIL_BACKEND) PUBLIC_BASE_URL=http://$(HOST):$(PORT) JOBS_INLINE_WORKER=1 $(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

## Put the demo back to its seeded state: removes the demo database, its outbox mail and attachments.
reset-demo: install
	rm -f instance/calibration.sqlite3 instance/calibration.sqlite3-wal instance/calibration.sqlite3-shm
	rm -f instance/jobs-queue.sqlite3 instance/jobs-queue.sqlite3-wal instance/jobs-queue.sqlite3-shm
	rm -rf instance/outbox instance/attachments
	$(BIN)/flask --app wsgi migrate
	$(BIN)/flask --app wsgi seed-demo
	@echo "The demo is back to its seeded state; start it with: make run"

## The whole suite, on SQLite and on a private PostgreSQL server started by the tests.
test: install browser
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

## Chromium for the browser tests (Debian's package; needs root, skipped quietly otherwise).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium and chromium-driver for the browser tests..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "Could not install chromium; browser tests will be skipped (or fail under CI=true)."; \
	  else echo "chromium not found; browser tests will be skipped (or fail under CI=true)."; fi; \
	fi

## ruff (lint and format) and mypy; CI runs this before the tests. Strict typing covers
## calibration/stats and calibration/services; the whole package is checked with mypy's defaults.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict calibration/stats calibration/services
	$(BIN)/mypy calibration

bench: install
	$(BIN)/python bench/stats_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
