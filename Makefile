# Cartera: `make demo` runs the demo, `make test` runs every test (SQLite, then PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The PostgreSQL the tests use; pytest-django creates and drops its own test database there.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cartera
# Test processes (pytest-xdist): many tests wait on subprocesses, browsers and leases, so
# more processes than cores still shortens the run. Each file stays in one process (loadfile):
# some modules share a database between their tests.
PYTEST_WORKERS ?= 4
PYTEST_ARGS ?=

.PHONY: install dev demo test test-sqlite test-postgres lint typecheck messages bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	$(MAKE) messages
	touch $@

dev: $(VENV)/.dev-installed

$(VENV)/.dev-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Compiles the translations with Babel, so no system gettext is needed.
messages:
	$(BIN)/pybabel compile --domain django --directory src/cartera/locale --statistics

ADDR ?= 127.0.0.1:8000

demo: install
	$(BIN)/cartera demo --addr $(ADDR)

lint: dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: dev
	$(BIN)/mypy src

test: dev messages
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy src
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite:
	env -u DATABASE_URL $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-postgres:
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/foundation.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache .mypy_cache
