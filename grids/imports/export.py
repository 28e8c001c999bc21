"""Area and head spreadsheets out: tree order, one query each, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from grids.imports.columns import (
    AREA_COLUMNS,
    GRID_TYPE_NAMES,
    HEAD_COLUMNS,
    KIND_NAMES,
    TITLE_NAMES,
)
from grids.models import Area, Post
from grids.selectors import area_paths


def area_export_headers() -> list[str]:
    return [c.label for c in AREA_COLUMNS]


def area_export_rows(queryset=None) -> Iterator[list]:
    """Rows for the area spreadsheet, tree order, one query streamed in chunks."""
    queryset = Area.objects.all() if queryset is None else queryset
    values = queryset.order_by("tree_id", "lft").values_list(
        "code", "name", "kind", "parent__code", "upper__code", "grid_type", "households"
    )
    for code, name, kind, parent, upper, grid_type, households in values.iterator(5000):
        yield [
            code,
            name,
            KIND_NAMES[kind][0],
            parent or upper or "",
            GRID_TYPE_NAMES[grid_type][0] if grid_type else "",
            households,
        ]


def head_export_headers() -> list[str]:
    return [c.label for c in HEAD_COLUMNS]


HEAD_BATCH = 5000


def head_export_rows(queryset=None, *, user=None) -> Iterator[list]:
    """Current posts in tree order: one query, streamed; the place (区域名称, for people,
    not read back) as its path below ``user``'s scope, one query per ``HEAD_BATCH`` rows for
    the places not met before."""
    queryset = Post.objects.filter(ended_on__isnull=True) if queryset is None else queryset
    values = queryset.order_by("area__tree_id", "area__lft", "title", "is_deputy").values_list(
        "area_id",
        "area__code",
        "area__name",
        "title",
        "person__name",
        "person__phone",
        "is_public",
        "is_deputy",
        "started_on",
    )
    rows = values.iterator(HEAD_BATCH)
    paths: dict[int, str] = {}
    while batch := list(islice(rows, HEAD_BATCH)):
        paths.update(area_paths({row[0] for row in batch} - paths.keys(), user=user))
        for row in batch:
            yield _head_row(row, paths)


def _head_row(values: tuple, paths: dict[int, str]) -> list:
    area_id, code, area_name, title, name, phone, public, deputy, started_on = values
    return [
        code,
        paths.get(area_id, area_name),
        TITLE_NAMES[title][0],
        name,
        phone,
        "是" if public else "否",
        "是" if deputy else "否",
        started_on.isoformat(),
    ]
