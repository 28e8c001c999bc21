"""The statements that read or write many area rows at once.

On PostgreSQL each is one set-based statement: ``INSERT … SELECT FROM unnest(arrays)``,
``UPDATE … FROM unnest(arrays)`` and ``code = ANY(array)``, one array parameter per column
instead of a placeholder per cell, and no model instance per row (most of what
``bulk_create``/``bulk_update`` cost). SQLite, the embedded setup, gets ``bulk_create``, an
``executemany`` UPDATE and ``IN (…)`` chunks instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from django.db import connection
from django.db.models import QuerySet

from core.importing import LOOKUP_CHUNK, chunks
from grids.models import Area, Person, Post

AREA_FIELDS = ("name", "kind", "grid_type", "households")
TREE_FIELDS = ("tree_id", "lft", "rght", "level")
INSERT_COLUMNS = ("code", *AREA_FIELDS, "parent_id", "upper_id", *TREE_FIELDS)
CHANGED_COLUMNS = (*AREA_FIELDS, "parent_id", "upper_id", *TREE_FIELDS)
# Rows per write statement. The writes are one statement per batch, whatever their size, so
# a batch only bounds the memory of one statement and the spacing of progress reports.
WRITE_BATCH = 10_000

# PostgreSQL array type of each column written through unnest().
_PG_ARRAY_TYPES = {
    "id": "bigint",
    "code": "text",
    "name": "text",
    "kind": "text",
    "grid_type": "text",
    "households": "int",
    "parent_id": "bigint",
    "upper_id": "bigint",
    "tree_id": "int",
    "lft": "int",
    "rght": "int",
    "level": "int",
    # grids_person and grids_post (the heads import)
    "phone": "text",
    "created_at": "timestamptz",
    "password_change_required": "boolean",
    "person_id": "bigint",
    "area_id": "bigint",
    "title": "text",
    "is_deputy": "boolean",
    "is_public": "boolean",
    "started_on": "date",
}


AREA_VALUES = ("pk", "code", *AREA_FIELDS, "parent_id", "upper_id", *TREE_FIELDS)


def _batches_by_code(codes: Iterable[str]) -> Iterator[QuerySet[Area]]:
    """The areas whose code is among ``codes``, as querysets to read one after the other,
    unordered (a dict comes out: sorting the rows is wasted work). On PostgreSQL one, with
    one array parameter instead of 5,000 placeholders a chunk: ten times faster."""
    wanted = sorted(set(codes))
    if not wanted:
        return
    areas = Area.objects.order_by()
    if connection.vendor == "postgresql":
        yield areas.filter(code__any=wanted)
    else:
        for chunk in chunks(wanted, LOOKUP_CHUNK):
            yield areas.filter(code__in=chunk)


def areas_by_code(codes: Iterable[str], fields: tuple[str, ...] = AREA_VALUES) -> dict[str, dict]:
    """code -> the area's values (``fields``, by default pk, code, fields, links and tree
    numbers; ``code`` among them) for every code given that exists."""
    found: dict[str, dict] = {}
    for batch in _batches_by_code(codes):
        for values in batch.values(*fields):
            found[values["code"]] = values
    return found


class AreaKey(NamedTuple):
    pk: int
    kind: str


def area_keys_by_code(codes: Iterable[str]) -> dict[str, AreaKey]:
    """code -> (pk, kind) for every code given that exists: the lookup of an import that only
    needs to know where each row goes. A tuple an area, its kind one shared string, and the
    rows read in chunks (a server-side cursor on PostgreSQL): ``areas_by_code``'s dicts for
    the city's 571,110 heads took the process up by 310 MB at their peak (``bench``'s
    ``import_heads_city_peak_mb``)."""
    found: dict[str, AreaKey] = {}
    kinds: dict[str, str] = {}
    for batch in _batches_by_code(codes):
        rows = batch.values_list("code", "pk", "kind").iterator(chunk_size=WRITE_BATCH)
        for code, pk, kind in rows:
            found[code] = AreaKey(pk, kinds.setdefault(kind, kind))
    return found


def rows_any_of(queryset, field: str, values: list) -> list:
    """The rows of ``queryset`` whose ``field`` is one of ``values``: one query with one array
    parameter on PostgreSQL (``__any``), ``__in`` chunks elsewhere."""
    if connection.vendor == "postgresql":
        return list(queryset.filter(**{f"{field}__any": values})) if values else []
    found = []
    for chunk in chunks(values, LOOKUP_CHUNK):
        found += queryset.filter(**{f"{field}__in": chunk})
    return found


def pg_arrays(columns: tuple[str, ...], rows: list[tuple]) -> list[str]:
    """The values of ``rows``, column by column, each as one PostgreSQL array literal such as
    ``{1,NULL,3}`` or ``{"a","b \\"c\\""}``, to pass as a text parameter cast to its array type.

    psycopg could adapt Python lists itself, but with Django's client-side binding it quotes
    each element in pure Python: four times slower than these joins, on 100,000s of values.
    """
    arrays = []
    for name, values in zip(columns, zip(*rows, strict=True), strict=True):
        if _PG_ARRAY_TYPES[name] == "text":
            # Inside double quotes only backslash and double quote need escaping; an unquoted
            # NULL is the null value.
            items = (
                "NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                for v in values
            )
        elif _PG_ARRAY_TYPES[name] == "boolean":
            items = ("NULL" if v is None else ("t" if v else "f") for v in values)
        elif _PG_ARRAY_TYPES[name] in ("date", "timestamptz"):
            items = ("NULL" if v is None else f'"{v.isoformat()}"' for v in values)
        else:
            items = ("NULL" if v is None else str(int(v)) for v in values)
        arrays.append("{" + ",".join(items) + "}")
    return arrays


def _insert(model, columns: tuple[str, ...], rows: list[tuple], returning: str = "") -> list:
    """``INSERT INTO model's table (columns) SELECT FROM unnest(arrays)`` on PostgreSQL (the
    rows' values in ``columns`` order); the ``returning`` columns of the new rows."""
    qn = connection.ops.quote_name
    arrays = ", ".join(f"%s::{_PG_ARRAY_TYPES[c]}[]" for c in columns)
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"SELECT * FROM unnest({arrays})" + (f" RETURNING {returning}" if returning else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, pg_arrays(columns, rows))
        return cursor.fetchall() if returning else []


PERSON_COLUMNS = ("name", "phone", "created_at", "password_change_required")
POST_COLUMNS = ("person_id", "area_id", "title", "is_deputy", "is_public", "started_on")


def insert_persons(rows: list[tuple[str, str]], now: dt.datetime) -> dict[str, int]:
    """New people, ``(phone, name)`` each; returns phone -> new id. One statement on
    PostgreSQL, ``bulk_create`` elsewhere."""
    if connection.vendor != "postgresql":
        made = Person.objects.bulk_create(
            [Person(name=name, phone=phone, created_at=now) for phone, name in rows]
        )
        return {person.phone: person.pk for person in made}
    values = [(name, phone, now, False) for phone, name in rows]
    # RETURNING promises no order: match the ids up by phone (unique).
    return {phone: pk for pk, phone in _insert(Person, PERSON_COLUMNS, values, "id, phone")}


def insert_posts(rows: list[tuple]) -> None:
    """New posts, values in ``POST_COLUMNS`` order. One statement on PostgreSQL,
    ``bulk_create`` elsewhere."""
    if connection.vendor != "postgresql":
        Post.objects.bulk_create(
            [Post(**dict(zip(POST_COLUMNS, row, strict=True))) for row in rows], batch_size=2000
        )
        return
    _insert(Post, POST_COLUMNS, rows)


def insert_areas(rows: list[tuple], now: dt.datetime) -> dict[str, int]:
    """Insert ``rows`` (values in ``INSERT_COLUMNS`` order); returns code -> new id.

    On PostgreSQL this is one ``INSERT … SELECT FROM unnest(arrays)``. Other databases go
    through ``bulk_create``.
    """
    if connection.vendor != "postgresql":
        names = INSERT_COLUMNS
        areas = [
            Area(**dict(zip(names, row, strict=True)), created_at=now, updated_at=now)
            for row in rows
        ]
        return {area.code: area.pk for area in Area.objects.bulk_create(areas)}
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in (*INSERT_COLUMNS, "created_at", "updated_at"))
    arrays = ", ".join(f"%s::{_PG_ARRAY_TYPES[c]}[]" for c in INSERT_COLUMNS)
    sql = (
        f"INSERT INTO {qn(Area._meta.db_table)} ({columns}) "
        f"SELECT v.*, %s, %s FROM unnest({arrays}) AS v "
        f"RETURNING {qn('id')}, {qn('code')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, now, *pg_arrays(INSERT_COLUMNS, rows)])
        # RETURNING promises no order: match the ids up by code.
        return {code: pk for pk, code in cursor.fetchall()}


def update_areas(
    columns: tuple[str, ...], rows: list[tuple], updated_at: dt.datetime | None
) -> None:
    """Set ``columns`` of each row in ``rows`` (the id first, then one value per column), and
    ``updated_at`` unless it is None, in one statement.

    ``bulk_update`` would write a CASE WHEN per row and column, and building those
    expressions costs more than the update itself. On PostgreSQL the rows travel as arrays
    joined with unnest(); on SQLite one prepared UPDATE runs once per row (executemany).
    """
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(Area._meta.db_table)
    stamp = []  # the one value every row gets, if any
    if updated_at is not None:
        stamp = [connection.ops.adapt_datetimefield_value(updated_at)]
    if connection.vendor == "postgresql":
        sets = [f"{qn(c)} = v.{qn(c)}" for c in columns]
        sets += [f"{qn('updated_at')} = %s"] * len(stamp)
        arrays = ", ".join(f"%s::{_PG_ARRAY_TYPES[c]}[]" for c in ("id", *columns))
        sql = (
            f"UPDATE {table} AS a SET {', '.join(sets)} "
            f"FROM unnest({arrays}) AS v(id, {', '.join(qn(c) for c in columns)}) "
            f"WHERE a.{qn('id')} = v.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*stamp, *pg_arrays(("id", *columns), rows)])
        return
    sets = [f"{qn(c)} = %s" for c in columns] + [f"{qn('updated_at')} = %s"] * len(stamp)
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {qn('id')} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*row[1:], *stamp, row[0]) for row in rows])
