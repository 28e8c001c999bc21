# Two commands for a newcomer: `make run` (set up and serve with demo data) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run setup install test lint bench worker beat clean

run: setup
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

setup: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_demo

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[dev]"
	touch $@

# One test process per core (pytest-xdist), each with its own test database. Tests are handed
# out in the collected order, which puts every transactional test (they empty the tables)
# after the others: no process runs a plain test after a transactional one.
# TEST_WORKERS=0 runs them all in this process.
TEST_WORKERS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench

worker: install
	$(BIN)/celery -A portal worker --loglevel=INFO

beat: install
	$(BIN)/celery -A portal beat --loglevel=INFO

clean:
	rm -rf $(VENV) var build *.egg-info
