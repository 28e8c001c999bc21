# Two commands for a newcomer: `make run` (set up and serve with demo data) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run setup install test lint bench worker beat clean deploy install-prod release \
	lock wheelhouse test-newest

run: setup
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

setup: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_demo

# Production (README, "Production"): the runtime dependencies only, no test tools (the hashed
# lock file; WHEELHOUSE=<dir> installs from wheels there, without the registry), then the
# release steps. Never the demo.
ENV_FILE ?= /etc/portal/portal.env
LOAD_ENV = if [ -f "$(ENV_FILE)" ]; then set -a; . "$(ENV_FILE)"; set +a; fi;
WHEELHOUSE ?=
deploy: install-prod release

install-prod:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if [ -f requirements/prod.txt ]; then \
	  $(BIN)/python -m pip install --quiet --require-hashes \
	    $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE)) -r requirements/prod.txt; \
	else $(BIN)/python -m pip install --quiet .; fi

# Each release, with ENV_FILE's settings and then RELEASE_ENV_FILE's (the database role that
# owns the tables, readable by root only): the migrations, as that owner; the services' role
# (DATABASE_APP_ROLE) granted the rows and no more (portal/management/commands/db_grants.py);
# the static files under their hashed names; Django's deployment checks.
# tests/production/test_deploy.py runs it.
RELEASE_ENV_FILE ?= /etc/portal/release.env
LOAD_RELEASE_ENV = if [ -f "$(RELEASE_ENV_FILE)" ]; then set -a; . "$(RELEASE_ENV_FILE)"; set +a; fi;
release:
	$(LOAD_ENV) $(LOAD_RELEASE_ENV) $(BIN)/python manage.py migrate --no-input && \
	  if [ -n "$${DATABASE_APP_ROLE:-}" ]; then \
	    $(BIN)/python manage.py db_grants "$$DATABASE_APP_ROLE"; fi && \
	  $(BIN)/python manage.py collectstatic --no-input -v0 && \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

install: $(VENV)/.installed

# The pinned versions of requirements/dev.txt (the runtime with the test and lint tools), each
# checked against its hash, then the project itself without dependencies.
$(VENV)/.installed: pyproject.toml requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The lock files, remade from pyproject.toml's ranges on the reference interpreter, Python 3.11:
# requirements/prod.txt (the runtime only) and requirements/dev.txt (with the dev extra). Pins
# the ranges still allow are kept; `make lock LOCK_ARGS=--upgrade` moves all to the newest.
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock: install
	$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "lock on 3.11")'
	$(PIP_COMPILE) --output-file requirements/prod.txt pyproject.toml
	$(PIP_COMPILE) --extra dev --output-file requirements/dev.txt pyproject.toml

# The runtime's wheels, each checked against the lock's hash, in wheelhouse/ (or WHEELHOUSE):
# copied to a machine of the same Python and platform, `make deploy WHEELHOUSE=<dir>` installs
# from them without the registry.
wheelhouse: install
	$(BIN)/python -m pip download --quiet --only-binary=:all: --require-hashes \
	  -r requirements/prod.txt -d $(or $(WHEELHOUSE),wheelhouse)

# One test process per core (pytest-xdist), each with its own test database. Tests are handed
# out in the collected order, which puts every transactional test (they empty the tables)
# after the others: no process runs a plain test after a transactional one.
# Tests marked xdist_group (the deployment test: one gunicorn and nginx for its module) stay
# in one process. TEST_WORKERS=0 runs them all in this process.
TEST_WORKERS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The suite on the newest versions the ranges allow (Python 3.13, Django 6.0 and the newest of
# every other dependency), in a virtual environment of its own, not from the lock.
NEWEST_PYTHON ?= $(firstword $(wildcard /root/.pyenv/versions/3.13*/bin/python3.13) python3.13)
NEWEST := .venv-newest
test-newest:
	test -x $(NEWEST)/bin/python || $(NEWEST_PYTHON) -m venv $(NEWEST)
	$(NEWEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager ".[dev]"
	$(NEWEST)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# CI's gates (.ci/run): ruff, and bandit with no high-severity finding in the portal's code.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet -c pyproject.toml -r . --severity-level high

bench: install
	$(BIN)/python -m bench

worker: install
	$(BIN)/celery -A portal worker --loglevel=INFO

beat: install
	$(BIN)/celery -A portal beat --loglevel=INFO

clean:
	rm -rf $(VENV) $(NEWEST) var build *.egg-info wheelhouse
