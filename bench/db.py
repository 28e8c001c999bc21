"""The throw-away benchmark database: created empty, dropped at the end, never the real one.

Only psycopg is used here, before Django is set up: Django is then pointed at the bench
database through ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

# A name of this run alone: two benches on one server (or anyone's database that happens to
# be called portal_bench) never meet, and the bench drops only what it created itself.
BENCH_DB = f"portal_bench_{os.getpid()}_{secrets.token_hex(4)}"
_SCHEMES = {"postgres", "postgresql", "pgsql"}
_MAINTENANCE_DBS = ("postgres", "template1")


class NotPostgres(SystemExit):
    pass


def bench_url(database_url: str) -> str:
    """``database_url`` with the database name replaced by this run's ``BENCH_DB``.

    Refuses anything but a PostgreSQL URL: the figures are about PostgreSQL."""
    if not database_url:
        raise NotPostgres(
            "bench: DATABASE_URL is not set. The benchmarks measure PostgreSQL; run e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python -m bench"
        )
    parts = urlsplit(database_url)
    if parts.scheme.lower() not in _SCHEMES:
        raise NotPostgres(
            f"bench: DATABASE_URL is a {parts.scheme or 'non-URL'!r} database, not PostgreSQL. "
            "The benchmarks measure PostgreSQL only (postgres://user@host:port/name)."
        )
    if parts.path.lstrip("/").startswith("portal_bench_"):
        raise NotPostgres(
            f"bench: DATABASE_URL already names {BENCH_DB!r}, the database the bench drops; "
            "give the URL of the portal database instead."
        )
    # libpq does not know the pgsql:// alias that dj-database-url accepts.
    return urlunsplit(("postgresql", parts.netloc, "/" + BENCH_DB, parts.query, ""))


def _admin_connect(url: str) -> psycopg.Connection:
    """An autocommit connection to a maintenance database of the same server."""
    last: Exception | None = None
    for name in _MAINTENANCE_DBS:
        try:
            return psycopg.connect(make_conninfo(url, dbname=name), autocommit=True)
        except psycopg.OperationalError as exc:
            last = exc
    raise SystemExit(f"bench: cannot connect to the PostgreSQL server: {last}")


def server_version(url: str) -> str:
    with _admin_connect(url) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]


def create(url: str) -> None:
    """Create this run's bench database, empty (its name is new: nothing to drop first)."""
    with _admin_connect(url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))


def drop(url: str) -> None:
    with _admin_connect(url) as conn:
        _drop(conn)


def _drop(conn: psycopg.Connection) -> None:
    force = sql.SQL(" WITH (FORCE)") if conn.info.server_version >= 130000 else sql.SQL("")
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(BENCH_DB), force))
