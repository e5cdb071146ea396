# ContactPoint: `make run` sets up everything and serves the demo; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CP := $(BIN)/contactpoint
DEMO_CHILDREN ?= 20000
DEMO_SEED ?= 1
DEMO_FILE := var/demo-$(DEMO_CHILDREN)-$(DEMO_SEED).jsonl

.PHONY: setup services down status migrate demo run lint test unit

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

setup: $(VENV)/.installed

services: setup
	$(CP) services up

down: setup
	$(CP) services down

status: setup
	$(CP) services status

migrate: services
	$(CP) db upgrade

$(DEMO_FILE): | setup
	mkdir -p var
	$(CP) demo-data --children $(DEMO_CHILDREN) --seed $(DEMO_SEED) --out $@.tmp
	mv $@.tmp $@

demo: migrate $(DEMO_FILE)
	$(CP) load --no-progress $(DEMO_FILE)

run: demo
	$(CP) serve --with-indexer

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The test suite starts its own servers (var/test, other ports) and stops them at the end.
test: lint
	$(BIN)/pytest -q

unit: setup
	$(BIN)/pytest -q tests/unit
