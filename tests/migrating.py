"""Data migrations tested on a database of their own: the default connection is pointed, for
one test, at a new empty database, which the test migrates forward from nothing to the state
before the migration it tests, fills, and migrates on (and back).

The suite's own test database is never migrated backwards: unapplying every migration made
since the one under test, and applying them all again, took minutes a test (each step
renders the project's states and installs or drops its history triggers), where migrating
a new database forward to an early state takes seconds. Nothing the test writes reaches the
suite's database, so no flush of it is needed afterwards either."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid

from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


@contextlib.contextmanager
def fresh_database():
    """The default connection on a new, empty database for the block; dropped after."""
    suite = connections[DEFAULT_DB_ALIAS]
    settings_dict = dict(suite.settings_dict)
    if suite.vendor == "postgresql":
        # The suite's database name (one per pytest-xdist worker) and a random tail: never
        # a name anyone else uses, and within PostgreSQL's 63 characters.
        name = f"{settings_dict['NAME'][:40]}_mig_{uuid.uuid4().hex[:10]}"
        with suite._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    else:
        handle, name = tempfile.mkstemp(suffix=".sqlite3", prefix="migrating-")
        os.close(handle)
    settings_dict["NAME"] = name
    fresh = suite.__class__(settings_dict, alias=DEFAULT_DB_ALIAS)
    ContentType.objects.clear_cache()
    connections[DEFAULT_DB_ALIAS] = fresh
    try:
        yield fresh
    finally:
        fresh.close()
        connections[DEFAULT_DB_ALIAS] = suite
        ContentType.objects.clear_cache()
        if suite.vendor == "postgresql":
            with suite._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            os.unlink(name)


def migrate(targets):
    """Migrate the default database to ``targets``; the models as the migrations applied now
    leave them."""
    MigrationExecutor(connections[DEFAULT_DB_ALIAS]).migrate(targets)
    loader = MigrationExecutor(connections[DEFAULT_DB_ALIAS]).loader
    return loader.project_state(list(loader.applied_migrations)).apps


def leaves():
    """Every app's newest migration."""
    return MigrationExecutor(connections[DEFAULT_DB_ALIAS]).loader.graph.leaf_nodes()
