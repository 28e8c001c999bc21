"""Shared checks and file builders for the grids tests.

``tree_errors`` is the integrity check every structural test ends with; the ``*_file``
builders write the spreadsheets an admin would upload, in the encodings Excel produces.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from django.db import connection
from openpyxl import Workbook

from grids import rules
from grids.models import Area

# A small county in three districts, in spreadsheet order (parents first):
# code, name, kind, logical parent code, grid type, households.
# D1 has every level (a compound, a street, a village); D2 and D3 are there so that a test can
# check that work in one district leaves the others' numbering alone.
COUNTY_ROWS: list[tuple[str, str, str, str, str, int]] = [
    ("C", "抚阳市", "city", "", "", 0),
    ("D1", "东湖区", "district", "C", "", 0),
    ("T1", "城关镇", "town", "D1", "", 0),
    ("CM1", "莲心社区", "community", "T1", "", 0),
    ("G1", "第1网格", "grid", "CM1", "basic", 410),
    ("B1", "1栋", "building", "G1", "", 48),
    ("U1", "1单元", "unit", "B1", "", 24),
    ("U2", "2单元", "unit", "B1", "", 24),
    ("B2", "2栋", "building", "G1", "", 36),
    ("G2", "第2网格", "grid", "CM1", "dedicated", 320),
    ("B3", "3栋", "building", "G2", "", 30),
    ("Z1", "锦绣小区", "compound", "CM1", "", 0),
    ("G3", "第3网格", "grid", "Z1", "basic", 350),
    ("CM2", "旴江社区", "community", "T1", "", 0),
    ("G4", "第4网格", "grid", "CM2", "basic", 380),
    ("V1", "上坪村", "village", "T1", "", 0),
    ("G5", "上坪村第1组", "grid", "V1", "basic", 90),
    ("S1", "东门街道", "street", "D1", "", 0),
    ("CM3", "东门社区", "community", "S1", "", 0),
    ("D2", "西山县", "district", "C", "", 0),
    ("T2", "石门镇", "town", "D2", "", 0),
    ("V2", "下坑村", "village", "T2", "", 0),
    ("G6", "下坑村第1组", "grid", "V2", "basic", 120),
    ("D3", "北岭县", "district", "C", "", 0),
    ("T3", "枫林镇", "town", "D3", "", 0),
]


class _Row(NamedTuple):
    pk: int
    code: str
    kind: str
    tree_id: int
    lft: int
    rght: int
    level: int
    parent_id: int | None
    upper_id: int | None


def tree_errors() -> list[str]:
    """Every nested-set or kind inconsistency of every Area tree, in one query.

    Per tree: the lft/rght values are exactly 1..2n, there is one root, intervals nest
    (walking nodes in lft order, the innermost open interval is the node's parent), and
    ``level`` is the parent's + 1. Roots are cities, districts and streets/towns at level 0;
    a root's ``upper`` is a city or district its kind may sit under; no non-root carries an
    ``upper``; every parent/child pair obeys ``rules.ALLOWED_PARENT_KINDS``.
    """
    nodes = [
        _Row(*values)
        for values in Area.objects.order_by("tree_id", "lft").values_list(
            "pk", "code", "kind", "tree_id", "lft", "rght", "level", "parent_id", "upper_id"
        )
    ]
    by_pk = {node.pk: node for node in nodes}
    trees: dict[int, list[_Row]] = defaultdict(list)
    for node in nodes:
        trees[node.tree_id].append(node)

    errors: list[str] = []
    for tree_id, members in sorted(trees.items()):
        numbers = sorted(n for node in members for n in (node.lft, node.rght))
        if numbers != list(range(1, 2 * len(members) + 1)):
            errors.append(
                f"tree {tree_id}: lft/rght are not exactly 1..{2 * len(members)}: {numbers}"
            )
        roots = [node.code for node in members if node.parent_id is None]
        if len(roots) != 1:
            errors.append(f"tree {tree_id}: {len(roots)} roots {roots}, expected 1")
        open_nodes: list[_Row] = []  # the chain of intervals enclosing the current node
        for node in members:  # already in lft order
            if node.lft >= node.rght:
                errors.append(f"{node.code}: lft {node.lft} >= rght {node.rght}")
            while open_nodes and open_nodes[-1].rght < node.lft:
                open_nodes.pop()
            enclosing = open_nodes[-1] if open_nodes else None
            if enclosing is not None and node.rght > enclosing.rght:
                errors.append(
                    f"{node.code}: [{node.lft}, {node.rght}] overlaps "
                    f"{enclosing.code} [{enclosing.lft}, {enclosing.rght}]"
                )
            if (enclosing.pk if enclosing else None) != node.parent_id:
                errors.append(
                    f"{node.code}: inside {enclosing.code if enclosing else 'nothing'} "
                    f"but its parent is {_code(by_pk, node.parent_id)}"
                )
            open_nodes.append(node)

    for node in nodes:
        if node.parent_id is None:
            errors += _root_errors(node, by_pk)
            continue
        parent = by_pk.get(node.parent_id)
        if parent is None:
            errors.append(f"{node.code}: parent {node.parent_id} does not exist")
            continue
        if parent.tree_id != node.tree_id:
            errors.append(f"{node.code}: tree {node.tree_id}, parent in tree {parent.tree_id}")
        if not parent.lft < node.lft < node.rght < parent.rght:
            errors.append(
                f"{node.code}: [{node.lft}, {node.rght}] not inside parent "
                f"{parent.code} [{parent.lft}, {parent.rght}]"
            )
        if node.level != parent.level + 1:
            errors.append(f"{node.code}: level {node.level}, parent level {parent.level}")
        if node.upper_id is not None:
            errors.append(f"{node.code}: has a parent and an upper")
        message = rules.parent_kind_error(node.kind, parent.kind)
        if message:
            errors.append(f"{node.code}: {message}")
    return errors


def _code(by_pk: dict[int, _Row], pk: int | None) -> str:
    if pk is None:
        return "nothing"
    return by_pk[pk].code if pk in by_pk else f"#{pk}"


def _root_errors(node: _Row, by_pk: dict[int, _Row]) -> list[str]:
    errors = []
    if node.level != 0:
        errors.append(f"{node.code}: a root at level {node.level}")
    if node.kind not in rules.TREE_ROOT_KINDS:
        errors.append(f"{node.code}: a {node.kind} is the root of tree {node.tree_id}")
    upper = by_pk.get(node.upper_id) if node.upper_id else None
    if node.upper_id and upper is None:
        errors.append(f"{node.code}: upper {node.upper_id} does not exist")
    if node.upper_id is None and (message := rules.parent_kind_error(node.kind, None)):
        errors.append(f"{node.code}: {message}")
    if upper is not None:
        if message := rules.parent_kind_error(node.kind, upper.kind):
            errors.append(f"{node.code}: upper {upper.code}: {message}")
        if upper.kind not in rules.UPPER_KINDS:
            errors.append(f"{node.code}: a {node.kind} hung below a {upper.kind}")
        if upper.parent_id is not None:
            errors.append(f"{node.code}: upper {upper.code} is not a root")
    return errors


def tree_snapshot(codes: Iterable[str] | None = None) -> dict[str, tuple]:
    """code -> (tree_id, lft, rght, level, updated_at) of the given areas (all if None)."""
    areas = Area.objects.all() if codes is None else Area.objects.filter(code__in=list(codes))
    return {
        code: rest
        for code, *rest in areas.values_list(
            "code", "tree_id", "lft", "rght", "level", "updated_at"
        ).order_by("code")
    }


def trees_of(*roots: str) -> list[str]:
    """Codes of every area in the nested-set trees of the given root codes."""
    tree_ids = Area.objects.filter(code__in=roots).values("tree_id")
    return list(Area.objects.filter(tree_id__in=tree_ids).values_list("code", flat=True))


def logical_tree() -> dict[str, tuple]:
    """code -> (name, kind, logical parent code, grid_type, households) for every area."""
    return {
        code: (name, kind, parent or upper or "", grid_type, households)
        for code, name, kind, parent, upper, grid_type, households in Area.objects.values_list(
            "code", "name", "kind", "parent__code", "upper__code", "grid_type", "households"
        )
    }


# --------------------------------------------------------------------------------------------
# Spreadsheet files


def csv_file(
    directory: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    *,
    encoding: str = "utf-8",
    name: str = "upload.csv",
) -> Path:
    """A CSV as Excel writes it: ``encoding`` is "utf-8", "utf-8-sig" (BOM) or "gbk"."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    path = Path(directory) / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def xlsx_file(
    directory: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    *,
    name: str = "upload.xlsx",
) -> Path:
    """An XLSX with one sheet: the header row, then ``rows`` (numbers stay numbers)."""
    book = Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append([None if v == "" else v for v in row])
    path = Path(directory) / name
    book.save(path)
    return path


def spreadsheet_file(
    directory: Path, fmt: str, headers: Sequence[str], rows: Iterable[Sequence], name="upload"
) -> Path:
    """``fmt``: "utf-8", "utf-8-sig" or "gbk" for a CSV in that encoding, or "xlsx"."""
    if fmt == "xlsx":
        return xlsx_file(directory, headers, rows, name=f"{name}.xlsx")
    return csv_file(directory, headers, rows, encoding=fmt, name=f"{name}.csv")


def error_cells(errors) -> list[tuple[int, str]]:
    """(line, column label) of each CellError, in the order reported."""
    return [(e.line, e.column) for e in errors]


# --------------------------------------------------------------------------------------------
# Query counting


def statements(captured) -> Counter:
    """How many statements of each kind (SELECT, INSERT, UPDATE …) a capture holds."""
    return Counter(q["sql"].lstrip().split(None, 1)[0].upper() for q in captured.captured_queries)


def insert_batches(model, count: int) -> int:
    """INSERT statements Django needs to bulk_create ``count`` rows of ``model`` here.

    PostgreSQL takes any batch in one statement; SQLite caps a statement at 999 parameters,
    so Django splits a large batch. An import that does not query per row still needs
    these, and only these, extra statements as the file grows."""
    if count == 0:
        return 0
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    size = connection.ops.bulk_batch_size(fields, [None] * count)
    return math.ceil(count / size)
