# One entry point per task. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint format openapi worker bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## Serve the hub on 127.0.0.1:8000 with the embedded SQLite database.
run: $(STAMP)
	$(BIN)/puente db upgrade
	$(BIN)/puente serve --host 127.0.0.1 --port 8000

## Run the whole test suite (set PUENTE_TEST_DATABASE_URL for PostgreSQL).
test: $(STAMP)
	$(BIN)/python -m pytest

## Deliver webhooks (a separate process from the API).
worker: $(STAMP)
	$(BIN)/puente worker

lint: $(STAMP)
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/ruff format --check app tests bench migrations
	$(BIN)/mypy app

format: $(STAMP)
	$(BIN)/ruff check --fix app tests bench migrations
	$(BIN)/ruff format app tests bench migrations

## Write openapi/openapi.json from the app.
openapi: $(STAMP)
	$(BIN)/puente openapi

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
