"""The named personas' world (``tests/conftest.py``'s ``World``), built once per test process
and restored into each test that asks for it.

Built through the services, the world costs about 260 queries and 0.2–0.3 s, and some two
thousand tests ask for it: most of the suite's set-up time. Here it is built once for each
local date a test runs on (a test that travels in time gets the world of its own day), inside
that test's transaction, under a clock frozen at the build's start. The rows the build wrote
are read back (those whose ``xmin`` is the build's transaction or one of its savepoints),
then the build is rolled back to a savepoint and the rows are put back with one ``INSERT`` a
table, their ``timestamptz`` columns moved by the time since the build, triggers and foreign
keys off while they go in (``session_replication_role = replica``: the history rows the
build's triggers wrote come back as rows of their own). Every test, the first one included,
gets the restored world and a copy of the Python objects as the build left them, their
datetimes moved the same way.

It falls back to building the world in the test on SQLite, for a database user that is not a
superuser (only a superuser may switch the triggers off), for a test outside a transaction
(the transactional tests), and when the build deleted a row that was there before it (a
delete cannot be read back).
"""

from __future__ import annotations

import datetime as dt
import pickle
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.utils import timezone


@dataclass
class _Table:
    name: str
    key: str  # the primary-key column
    columns: list[str]
    shifted: set[str]  # timestamptz columns
    rows: str  # JSON array of the rows as the build left them


@dataclass
class _Snapshot:
    at: dt.datetime
    tables: list[_Table]
    world: bytes  # the pickled World


_snapshots: dict[tuple[str, dt.date], _Snapshot | None] = {}
_superuser: dict[str, bool] = {}


def restored_world(factory):
    """A World for this test: restored from this process's snapshot where it can be."""
    if not _can_restore():
        return factory()
    key = (connection.settings_dict["NAME"], timezone.localdate())
    if key not in _snapshots:
        _snapshots[key] = _take(factory)
    snapshot = _snapshots[key]
    if snapshot is None:
        return factory()
    return _restore(snapshot)


def _can_restore() -> bool:
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return False
    name = connection.settings_dict["NAME"]
    if name not in _superuser:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            _superuser[name] = bool(cursor.fetchone()[0])
    return _superuser[name]


def _written_tables(cursor) -> dict[str, tuple[int, int, int]]:
    cursor.execute(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables"
        " WHERE schemaname = 'public'"
    )
    return {name: (ins, upd, dele) for name, ins, upd, dele in cursor.fetchall()}


def _take(factory) -> _Snapshot | None:
    import time_machine

    at = timezone.now()
    savepoint = transaction.savepoint()
    try:
        with connection.cursor() as cursor:
            # The xid of the test's transaction: the build's rows carry it or a savepoint's,
            # which come after it.
            cursor.execute("SELECT pg_current_xact_id()::text::bigint % 4294967296")
            first_xid = cursor.fetchone()[0]
            before = _written_tables(cursor)
        with time_machine.travel(at, tick=False):
            world = factory()
        with connection.cursor() as cursor:
            after = _written_tables(cursor)
            written = []
            for name, counts in after.items():
                old = before.get(name, (0, 0, 0))
                ins, upd, dele = (c - b for c, b in zip(counts, old, strict=True))
                if dele:
                    return None  # a row of before the build is gone: cannot be read back
                if ins or upd:
                    written.append(name)
            tables = [_read_table(cursor, name, first_xid) for name in sorted(written)]
        frozen = pickle.dumps(world)
    finally:
        transaction.savepoint_rollback(savepoint)
    if any(table is None for table in tables):
        return None
    return _Snapshot(at=at, tables=tables, world=frozen)


def _read_table(cursor, name: str, first_xid: int) -> _Table | None:
    cursor.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        " AND a.attgenerated = '' ORDER BY a.attnum",
        [name],
    )
    columns = cursor.fetchall()
    cursor.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
        " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = %s::regclass AND i.indisprimary",
        [name],
    )
    keys = [row[0] for row in cursor.fetchall()]
    if len(keys) != 1:
        return None
    table = connection.ops.quote_name(name)
    cursor.execute(
        f"SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]')::text FROM {table} t"  # noqa: S608
        " WHERE t.xmin::text::bigint >= %s",
        [first_xid],
    )
    return _Table(
        name=name,
        key=keys[0],
        columns=[column for column, _ in columns],
        shifted={column for column, kind in columns if kind == "timestamp with time zone"},
        rows=cursor.fetchone()[0],
    )


def _restore(snapshot: _Snapshot):
    shift = timezone.now() - snapshot.at
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table in snapshot.tables:
            columns = ", ".join(quote(c) for c in table.columns)
            values = ", ".join(
                f"r.{quote(c)} + %(shift)s" if c in table.shifted else f"r.{quote(c)}"
                for c in table.columns
            )
            updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in table.columns)
            cursor.execute(
                f"INSERT INTO {quote(table.name)} ({columns})"  # noqa: S608
                f" OVERRIDING SYSTEM VALUE SELECT {values}"
                f" FROM jsonb_populate_recordset(NULL::{quote(table.name)}, %(rows)s::jsonb) r"
                f" ON CONFLICT ({quote(table.key)}) DO UPDATE SET {updates}",
                {"rows": table.rows, "shift": shift},
            )
        cursor.execute("SET LOCAL session_replication_role = origin")
    world = pickle.loads(snapshot.world)  # noqa: S301 (our own bytes, this process's)
    _shift_objects(world, shift)
    return world


def _shift_objects(world, shift: dt.timedelta) -> None:
    """Moves every DateTimeField of the world's model instances by ``shift``, once each."""
    seen: set[int] = set()

    def visit(value):
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, models.Model):
            for field in value._meta.concrete_fields:
                if isinstance(field, models.DateTimeField):
                    moment = value.__dict__.get(field.attname)
                    if isinstance(moment, dt.datetime):
                        value.__dict__[field.attname] = moment + shift
            for cached in value._state.fields_cache.values():
                visit(cached)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                visit(item)

    for value in vars(world).values():
        visit(value)
