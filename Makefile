# Targets CI runs too (.ci/run). `make demo` and `make test` are the README's quick start.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo web flower test lint typecheck check bench bench-quick fleet credentials clean
#: Where `make credentials` keeps the fleet's keys (the root key too: a developer's machine only).
CREDENTIALS ?= .bus-credentials

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

demo: $(BIN)/python
	$(BIN)/pip install --quiet -e . && $(BIN)/bus demo

# The live console (bus web) on http://127.0.0.1:$(WEB_PORT): on memory:// (the default) it hosts
# the demo's agents itself; with BUS_BROKER_URL (from .env too) it watches that fleet.
WEB_PORT ?= 8088
web: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	set -a; [ ! -f .env ] || . ./.env; set +a; $(BIN)/bus web --port $(WEB_PORT)

# Flower on the workers' broker (BUS_BROKER_URL, from .env too), on 127.0.0.1:$(FLOWER_PORT),
# behind basic auth: `FLOWER_BASIC_AUTH=admin:s3cret make flower` (bus flower refuses without).
FLOWER_PORT ?= 5555
flower: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	set -a; [ ! -f .env ] || . ./.env; set +a; $(BIN)/bus flower --port $(FLOWER_PORT)

# The tests run over every core (pytest-xdist; `TEST_WORKERS=0 make test` runs them in one
# process). Work stealing evens out the slow fault tests.
TEST_WORKERS ?= auto
test: install
	$(BIN)/pytest --cov -n $(TEST_WORKERS) --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy --strict bus
	$(BIN)/mypy bus tests bench

check: lint typecheck test

# The Procfile fleet with BUS_AUTH=required (needs BUS_BROKER_URL, e.g. in .env).
credentials: install
	set -a; [ ! -f .env ] || . ./.env; set +a; $(BIN)/bus auth setup --dir $(CREDENTIALS)

fleet: credentials
	$(BIN)/honcho start -e .env,$(CREDENTIALS)/auth.env

bench: install
	$(BIN)/python -m bench

bench-quick: install
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) .coverage .coverage.* htmlcov .pytest_cache .mypy_cache .ruff_cache
