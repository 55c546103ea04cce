# Two commands: `make run` and `make test`. Everything else is here for them and for CI.
SHELL := /bin/bash
# The first interpreter >= 3.12 that really runs (a pyenv shim may exist without its version).
PYTHON ?= $(shell for p in python3.12 python3.13 $$(pyenv root 2>/dev/null)/versions/3.1[23]*/bin/python3 \
	$$HOME/.pyenv/versions/3.1[23]*/bin/python3 /usr/local/bin/python3 /usr/bin/python3; do \
	  "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo "$$p"; exit; }; done)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export DJANGO_SETTINGS_MODULE ?= storedesk.settings.prod
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-postgres test-browser lint format messages demo bench bench-all clean

$(BIN)/uv:
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (pyenv or python3.12 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode compiled at install: where Python may not write .pyc files (read-only installs,
# PYTHONDONTWRITEBYTECODE) every command would compile SciPy and scikit-learn again (~5 s).
install: $(BIN)/uv
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --quiet --compile-bytecode
	$(BIN)/storedesk compilemessages --ignore=.venv --verbosity 0 2>/dev/null || true

run: install
	$(BIN)/storedesk migrate --verbosity 0
	$(BIN)/storedesk demo --if-empty
	$(BIN)/storedesk run --no-migrate --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest -q -m "not browser" $(PYTEST_ARGS)
	STOREDESK_TEST_DB_FILE=1 $(BIN)/pytest -q -m browser $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/storedesk} $(BIN)/pytest -m "not browser" -q $(PYTEST_ARGS)

test-browser: install
	STOREDESK_TEST_DB_FILE=1 $(BIN)/pytest -m browser -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

messages: install
	cd src/storedesk && ../../$(BIN)/storedesk makemessages -l vi --no-obsolete
	cd src/storedesk && ../../$(BIN)/storedesk compilemessages

# Benchmarks print figures; each script's docstring says what it measures and its options.
# `make bench` runs one (BENCH, the demo load and order searches by default; arguments in
# BENCH_ARGS): `make bench BENCH=risk_speed BENCH_ARGS="--orders 5000"`. `make bench-all` runs
# every script under bench/ at its default size, one after another: hours (desk_scale loads a
# million tickets), and scale_out needs PostgreSQL and Redis; a failed one does not stop the rest.
BENCH ?= demo_load
bench: install
	$(BIN)/python bench/$(BENCH).py $(BENCH_ARGS)

bench-all: install
	@failed=""; for script in bench/[a-z]*.py; do echo "== $$script"; \
	  $(BIN)/python $$script || failed="$$failed $$script"; done; \
	  test -z "$$failed" || { echo "failed:$$failed"; exit 1; }

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
