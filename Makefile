# multilane — the commands a developer and CI run. `make setup` then `make test`.
PY ?= python3
VENV := venv
BIN := $(VENV)/bin
STACK ?= infra-dev

.PHONY: setup engine test test-unit test-e2e test-engine lint format plan policy bench clean

setup: $(BIN)/.installed

$(BIN)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

# The real Pulumi CLI: `pulumi` from PATH, else built once from the Go module
# proxy into ~/.cache/multilane/engine (engine/build.sh); linked into .engine/bin.
engine: setup
	bash engine/build.sh

test: setup engine
	$(BIN)/python -m pytest -q

test-unit: setup
	$(BIN)/python -m pytest -q -m "not e2e and not engine"

test-engine: setup engine
	$(BIN)/python -m pytest -q -m engine

test-e2e: setup
	$(BIN)/python -m pytest -q -m e2e

# mypy: strict on components/, automation/, policy/ and harness/; config in pyproject.toml.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

plan: setup
	$(BIN)/python -m automation plan $(STACK)

policy: setup
	$(BIN)/python -m policy.audit

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .engine
