"""Spreadsheet import and export of areas and heads.

``areas_import`` and ``heads_import`` are the one way spreadsheets get into the portal: the
admin pages and the ``import_areas``/``import_heads`` commands both call them.

The area import does not go through django-mptt one row at a time (each insert shifts the
numbering of the tree) nor through django-import-export's bulk mode (it looks parents up
before the batch is written and leaves the tree fields empty). It plans the whole file in
memory instead: rows are validated, parents resolved by code whatever their order, cycles
and kind rules checked, and the nested-set numbers of every district the file touches are
computed once. Then new rows go in (one batch per depth, so parents have ids before their
children), and changed and renumbered rows are updated, each batch in one set-based
statement (see ``_insert_areas`` and ``_update_areas``). Any error and nothing is written; a
dry run stops just before the writes and reports the same plan.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.importing import (
    BATCH,
    LOOKUP_CHUNK,
    PREVIEW_ROWS,
    ImportFailed,
    ImportReport,
    Progress,
    chunks,
    no_progress,
    parse_bool,
    parse_date,
)
from core.spreadsheets import CellError, Column, ColumnMap, Table, map_columns
from grids import rules
from grids.models import Area, ImportRun, Person, Post
from grids.rules import AreaKind, GridType, PostTitle
from grids.services import import_run_record, lock_tree
from grids.validators import AREA_CODE_RE, BAD_CODE_MESSAGE, normalize_phone, validate_phone

# Names a spreadsheet may use for each kind; the first is what we write on export.
KIND_NAMES: dict[str, tuple[str, ...]] = {
    AreaKind.CITY: ("市", "地级市", "city"),
    AreaKind.DISTRICT: ("区县", "区", "县", "区/县", "县级市", "市辖区", "district", "county"),
    AreaKind.STREET: ("街道", "街道办", "street"),
    AreaKind.TOWN: ("乡镇", "镇", "乡", "town"),
    AreaKind.COMMUNITY: ("社区", "居委会", "community"),
    AreaKind.VILLAGE: ("村", "行政村", "村委会", "village"),
    AreaKind.COMPOUND: ("小区/片区", "小区", "片区", "compound", "zone"),
    AreaKind.GRID: ("网格", "grid"),
    AreaKind.BUILDING: ("楼栋", "楼", "栋", "building"),
    AreaKind.UNIT: ("单元", "unit"),
}
GRID_TYPE_NAMES: dict[str, tuple[str, ...]] = {
    GridType.BASIC: ("基础网格", "基础", "basic"),
    GridType.DEDICATED: ("专属网格", "专属", "dedicated"),
}
TITLE_NAMES: dict[str, tuple[str, ...]] = {
    PostTitle.REGION_HEAD: ("大区长", "region_head"),
    PostTitle.ZONE_HEAD: ("片区长", "zone_head"),
    PostTitle.COMMUNITY_SECRETARY: (
        "社区书记",
        "社区党组织书记",
        "村党组织书记",
        "community_secretary",
    ),
    PostTitle.COMMUNITY_WORKER: ("社区工作者", "community_worker"),
    PostTitle.STREET_OFFICER: ("街道干部", "乡镇干部", "street_officer"),
    PostTitle.COUNTY_OFFICER: ("县三长办", "三长办干部", "county_officer"),
    PostTitle.GRID_HEAD: ("网格长", "grid_head"),
    PostTitle.GRID_WORKER: ("网格员", "专职网格员", "grid_worker"),
    PostTitle.BUILDING_HEAD: ("楼栋长", "楼长", "building_head"),
    PostTitle.UNIT_HEAD: ("单元长", "unit_head"),
}


def _lookup(names: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {alias.lower(): value for value, aliases in names.items() for alias in aliases}


KIND_LOOKUP = _lookup(KIND_NAMES)
GRID_TYPE_LOOKUP = _lookup(GRID_TYPE_NAMES)
TITLE_LOOKUP = _lookup(TITLE_NAMES)

AREA_COLUMNS = (
    Column("code", "编码", ("统一编码", "区域编码", "编号")),
    Column("name", "名称", ("区域名称",)),
    Column("kind", "类型", ("层级", "级别", "type")),
    Column("parent_code", "上级编码", ("父级编码", "上级区域编码", "parent", "parentcode")),
    Column("grid_type", "网格类型", ("gridtype",), required=False),
    Column("households", "户数", ("估算户数", "住户数"), required=False),
)
HEAD_COLUMNS = (
    Column("area_code", "区域编码", ("编码", "areacode", "area")),
    Column("area_name", "区域名称", ("areaname",), required=False),  # for people; not read
    Column("title", "职务", ("岗位", "title")),
    Column("name", "姓名", ("name",)),
    Column("phone", "手机", ("手机号", "电话", "联系电话", "phone", "mobile")),
    Column("public", "公示", ("是否公示", "public", "ispublic"), required=False),
    Column("deputy", "副职", ("是否副职", "deputy", "isdeputy"), required=False),
    Column("started_on", "任职日期", ("开始日期", "startedon", "since"), required=False),
)


# --------------------------------------------------------------------------------------------
# Areas
# --------------------------------------------------------------------------------------------


@dataclass
class _AreaRow:
    line: int
    code: str
    name: str
    kind: str
    parent_code: str
    grid_type: str | None  # None: column absent or cell empty, keep what is there
    households: int | None


@dataclass
class _Node:
    """A node of a tree being renumbered: an existing row, a file row, or both."""

    code: str
    kind: str
    parent: str | None  # logical parent code (a district's city included)
    pk: int | None = None
    order: tuple = ()
    tree_id: int = 0
    lft: int = 0
    rght: int = 0
    level: int = 0


_AREA_FIELDS = ("name", "kind", "grid_type", "households")
_TREE_FIELDS = ("tree_id", "lft", "rght", "level")


def _parse_area_rows(table: Table, cols: ColumnMap, errors: list[CellError]) -> list[_AreaRow]:
    rows: list[_AreaRow] = []
    has_grid_type = "grid_type" in cols.index
    has_households = "households" in cols.index
    for line, cells in table.rows:

        def bad(key: str, message: str, line=line) -> None:
            errors.append(CellError(line, cols.label(key), message))

        code = cols.get(cells, "code")
        code_ok = bool(AREA_CODE_RE.match(code))
        if not code:
            bad("code", _("the code is empty"))
        elif not code_ok:
            bad(
                "code",
                str(BAD_CODE_MESSAGE) % {"value": code},
            )
        name = cols.get(cells, "name")
        if not name:
            bad("name", _("the name is empty"))
        elif len(name) > 100:
            bad("name", _("the name is longer than 100 characters"))
        kind_text = cols.get(cells, "kind")
        kind = KIND_LOOKUP.get(kind_text.lower(), "")
        if not kind:
            bad(
                "kind",
                _("unknown kind “%(v)s” (one of: %(names)s)")
                % {"v": kind_text, "names": "、".join(n[0] for n in KIND_NAMES.values())},
            )
        parent_code = cols.get(cells, "parent_code")
        grid_type: str | None = None
        if has_grid_type and (text := cols.get(cells, "grid_type")):
            grid_type = GRID_TYPE_LOOKUP.get(text.lower())
            if grid_type is None:
                bad(
                    "grid_type", _("unknown grid type “%(v)s” (基础网格 or 专属网格)") % {"v": text}
                )
            elif kind and kind != AreaKind.GRID:
                bad("grid_type", _("only grids have a grid type"))
        households: int | None = None
        if has_households and (text := cols.get(cells, "households")):
            try:
                households = int(text)
                if households < 0:
                    raise ValueError
            except ValueError:
                bad("households", _("“%(v)s” is not a whole number of households") % {"v": text})
        # A row with a usable code and kind still takes part in the checks across rows
        # (parents, duplicates, cycles), so that one upload reports every problem at once.
        if code_ok and kind:
            rows.append(_AreaRow(line, code, name, kind, parent_code, grid_type, households))
    return rows


def _load_by_codes(codes: Iterable[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    wanted = sorted(set(codes))
    fields = ("pk", "code", *_AREA_FIELDS, "parent_id", "upper_id", *_TREE_FIELDS)
    areas = Area.objects.order_by()  # a dict comes out: sorting the rows is wasted work
    if connection.vendor == "postgresql":
        # One array parameter instead of 5,000 placeholders a chunk: ten times faster.
        batches = [areas.filter(code__any=wanted)] if wanted else []
    else:
        batches = (areas.filter(code__in=chunk) for chunk in chunks(wanted, LOOKUP_CHUNK))
    for batch in batches:
        for values in batch.values(*fields):
            found[values["code"]] = values
    return found


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off for the duration.

    A large import builds hundreds of thousands of small objects (rows, nodes, dicts) that
    all live until it ends; the collector would walk them again and again and find nothing
    to free, which cost about 30 % of a 100k-row import. Whatever cycles are left behind are
    collected once it is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:  # a caller that turned it off itself keeps it off
            gc.enable()


@_gc_paused()
def areas_import(
    *,
    table: Table,
    dry_run: bool = False,
    source: str = "",
    user=None,
    progress: Progress = no_progress,
) -> ImportReport:
    """Create or update areas from ``table``. Raises ``ImportFailed`` with every error found;
    in that case nothing was written."""
    started = time.monotonic()
    report = ImportReport(
        target="areas", dry_run=dry_run, rows=len(table.rows), encoding=table.encoding
    )
    errors = report.errors
    cols = map_columns(table, AREA_COLUMNS)
    rows = _parse_area_rows(table, cols, errors)
    progress("read", len(rows), len(table.rows))

    by_code: dict[str, _AreaRow] = {}
    for row in rows:
        first = by_code.get(row.code)
        if first is not None:
            errors.append(
                CellError(
                    row.line,
                    cols.label("code"),
                    _("code “%(code)s” appears again (first on line %(first)s)")
                    % {"code": row.code, "first": first.line},
                )
            )
        else:
            by_code[row.code] = row

    with transaction.atomic():
        lock_tree()
        existing = _load_by_codes([*by_code, *(r.parent_code for r in rows if r.parent_code)])
        progress("matched", len(existing), len(by_code))
        plan = _AreaPlan(by_code, existing, cols, errors)
        plan.codes_in_file = {cols.get(cells, "code") for _line, cells in table.rows}
        plan.check_parents()
        if not errors:
            plan.check_kind_changes()
            plan.number_trees()
        report.created, report.updated, report.unchanged = plan.counts()
        report.renumbered = len(plan.renumbered)
        report.preview = plan.preview
        if errors:
            errors.sort(key=lambda e: (e.line, e.column))
            report.seconds = time.monotonic() - started
            raise ImportFailed(report)
        if not dry_run:
            try:
                plan.write(progress)
            except IntegrityError as exc:  # a row written by someone else meanwhile
                errors.append(
                    CellError(0, "", _("the database refused the import: %(e)s") % {"e": exc})
                )
                raise ImportFailed(report) from exc
            report.seconds = time.monotonic() - started
            import_run_record(
                target=ImportRun.Target.AREAS, report=report, source=source, user=user
            )
    report.seconds = time.monotonic() - started
    return report


class _AreaPlan:
    def __init__(
        self,
        rows: dict[str, _AreaRow],
        existing: dict[str, dict],
        cols: ColumnMap,
        errors: list[CellError],
    ):
        self.rows = rows
        self.existing = existing
        self.cols = cols
        self.errors = errors
        self.nodes: dict[str, _Node] = {}
        self.codes_in_file: set[str] = set()
        self.renumbered: set[str] = set()
        self.preview: list[tuple[int, str, str, str]] = []
        self.new_codes: list[str] = []
        self.changed: dict[str, list[str]] = {}  # code -> names of fields that change
        self._code_by_pk: dict[int, str] = {v["pk"]: c for c, v in existing.items()}
        self._acyclic: set[str] = set()  # codes whose parents, in the file, end outside it

    def error(self, row: _AreaRow, key: str, message: str) -> None:
        self.errors.append(CellError(row.line, self.cols.label(key), message))

    def kind_of(self, code: str) -> str:
        row = self.rows.get(code)
        return row.kind if row else self.existing[code]["kind"]

    # -- validation ---------------------------------------------------------------------------

    def check_parents(self) -> None:
        for row in self.rows.values():
            if (
                row.parent_code
                and row.parent_code not in self.rows
                and row.parent_code not in self.existing
            ):
                if row.parent_code in self.codes_in_file:
                    continue  # the parent's row is in the file with errors of its own
                self.error(
                    row,
                    "parent_code",
                    _("unknown parent code “%(code)s”: not in this file nor in the portal")
                    % {"code": row.parent_code},
                )
                continue
            if row.parent_code == row.code:
                self.error(row, "parent_code", _("an area cannot be its own parent"))
                continue
            cycle = self._cycle_from(row)
            if cycle:
                self.error(
                    row,
                    "parent_code",
                    _("the parents form a cycle: %(chain)s") % {"chain": " → ".join(cycle)},
                )
                continue
            message = rules.parent_kind_error(
                row.kind, self.kind_of(row.parent_code) if row.parent_code else None
            )
            if message:
                self.error(row, "kind" if not row.parent_code else "parent_code", message)

    def _cycle_from(self, row: _AreaRow) -> list[str] | None:
        """Follow parents within the file; a chain that comes back to itself is a cycle.

        Chains leaving the file end at an existing node; that node's own ancestors are
        checked in ``number_trees``, which only reaches nodes that hang from a root."""
        seen = [row.code]
        code = row.parent_code
        # A chain already followed out of the file needs no second walk: a 100k-row file
        # would otherwise walk every row up to its district again.
        while code and code in self.rows and code not in self._acyclic:
            if code in seen:
                return [*seen[seen.index(code) :], code]
            seen.append(code)
            code = self.rows[code].parent_code
        self._acyclic.update(seen)
        return None

    def check_kind_changes(self) -> None:
        """An existing node that changes kind must still fit above its children and posts."""
        changed = {
            self.existing[c]["pk"]: r
            for c, r in self.rows.items()
            if c in self.existing and self.existing[c]["kind"] != r.kind
        }
        if not changed:
            return
        children = Area.objects.filter(Q(parent__in=changed) | Q(upper__in=changed))
        for child in children.values("code", "kind", "parent_id", "upper_id"):
            if child["code"] in self.rows:
                continue  # the file says where the child goes; checked with its own row
            row = changed[child["parent_id"] or child["upper_id"]]
            message = rules.parent_kind_error(child["kind"], row.kind)
            if message:
                self.error(
                    row,
                    "kind",
                    _("its existing child %(code)s would no longer be allowed: %(m)s")
                    % {"code": child["code"], "m": message},
                )
        posts = Post.objects.filter(area__in=changed, ended_on__isnull=True)
        for area_id, title in posts.values_list("area_id", "title").distinct():
            row = changed[area_id]
            message = rules.title_kind_error(title, row.kind)
            if message:
                self.error(
                    row,
                    "kind",
                    _("its current post would no longer be allowed: %(m)s") % {"m": message},
                )

    # -- planning -----------------------------------------------------------------------------

    def _old_parent_code(self, values: dict) -> str:
        pk = values["parent_id"] or values["upper_id"]
        if pk is None:
            return ""
        return self._code_by_pk.get(pk) or self._parent_codes[pk]

    def number_trees(self) -> None:
        rows, existing = self.rows, self.existing
        # Parent codes of existing rows whose parent is not in the file: one query.
        missing = (
            {v["parent_id"] or v["upper_id"] for c, v in existing.items() if c in rows}
            - set(self._code_by_pk)
            - {None}
        )
        self._parent_codes = dict(Area.objects.filter(pk__in=missing).values_list("pk", "code"))

        moved: set[str] = set()
        for code, row in rows.items():
            old = existing.get(code)
            if old is None:
                self.new_codes.append(code)
                self._preview(row, "new", "")
                continue
            diffs = [f for f in _AREA_FIELDS if self._value(row, f, old) != old[f]]
            if self._old_parent_code(old) != row.parent_code:
                diffs.append("parent")
                if row.kind not in rules.TREE_ROOT_KINDS:
                    moved.add(code)
            if diffs:
                self.changed[code] = diffs
                self._preview(row, "update", ", ".join(diffs))
            else:
                self._preview(row, "unchanged", "")
        if not self.new_codes and not moved:
            return  # names and counts only: no numbering changes

        # Every tree that gains, loses or reorders a node is renumbered whole, and only those.
        affected: set[int] = set()
        for code in [*self.new_codes, *moved]:
            if code in existing:
                affected.add(existing[code]["tree_id"])
            parent = rows[code].parent_code
            if parent in existing and rows[code].kind not in rules.TREE_ROOT_KINDS:
                affected.add(existing[parent]["tree_id"])
        self._build_nodes(affected)
        self._number(affected)

    def _value(self, row: _AreaRow, name: str, old: dict | None):
        if name == "grid_type":
            if row.kind != AreaKind.GRID:
                return ""
            if row.grid_type is not None:
                return row.grid_type
            return (old or {}).get("grid_type") or GridType.BASIC
        if name == "households":
            if row.households is not None:
                return row.households
            return (old or {}).get("households", 0)
        return getattr(row, name)

    def _preview(self, row: _AreaRow, action: str, what: str) -> None:
        if len(self.preview) < PREVIEW_ROWS:
            self.preview.append((row.line, action, row.code, what))

    def _build_nodes(self, affected: set[int]) -> None:
        nodes = self.nodes
        tree_rows = Area.objects.filter(tree_id__in=affected).order_by("tree_id", "lft")
        pk_code: dict[int, str] = {}
        loaded = list(tree_rows.values_list("pk", "code", "kind", "parent_id", *_TREE_FIELDS))
        for pk, code, kind, _parent, tree_id, lft, rght, level in loaded:
            pk_code[pk] = code
            nodes[code] = _Node(code, kind, None, pk, (0, lft), tree_id, lft, rght, level)
        for row in loaded:
            nodes[row[1]].parent = pk_code.get(row[3])
        # The file decides parents (and kinds) of its rows; new children go after old ones.
        for code, row in self.rows.items():
            node = nodes.get(code)
            if node is None:
                if code in self.existing:
                    continue  # lives in a tree this file does not restructure
                node = nodes[code] = _Node(code, row.kind, None, None, (1, code))
            elif node.parent != (row.parent_code or None):
                node.order = (1, code)
            node.kind = row.kind
            node.parent = row.parent_code or None

    def _number(self, affected: set[int]) -> None:
        nodes = self.nodes
        children: dict[str | None, list[_Node]] = defaultdict(list)
        for node in nodes.values():
            if node.kind in rules.TREE_ROOT_KINDS:
                children[None].append(node)
            elif node.parent in nodes:
                children[node.parent].append(node)
            # else: parent outside the loaded trees can only be a node we do not reshape
        roots = sorted(children[None], key=lambda n: (n.tree_id == 0, n.tree_id, n.code))
        next_tree = (Area.objects.aggregate(m=Max("tree_id"))["m"] or 0) + 1
        old = {n.code: (n.tree_id, n.lft, n.rght, n.level) for n in nodes.values() if n.pk}
        reached: set[str] = set()
        for root in roots:
            if root.pk is None or root.tree_id not in affected:
                if root.pk is not None:
                    continue  # an untouched tree (e.g. a district whose city link changes)
                root.tree_id, next_tree = next_tree, next_tree + 1
            counter = 0
            stack: list[tuple[_Node, int, bool]] = [(root, 0, False)]
            while stack:
                node, level, done = stack.pop()
                counter += 1
                if done:
                    node.rght = counter
                    continue
                reached.add(node.code)
                node.tree_id, node.lft, node.level = root.tree_id, counter, level
                stack.append((node, level, True))
                kids = sorted(children.get(node.code, ()), key=lambda n: n.order, reverse=True)
                stack.extend((kid, level + 1, False) for kid in kids)
        for code, node in nodes.items():
            if (node.pk is None or code in self.rows) and code not in reached:
                row = self.rows[code]
                self.error(
                    row,
                    "parent_code",
                    _("the parents form a cycle through existing areas (%(code)s)")
                    % {"code": row.parent_code},
                )
            if node.pk and old[code] != (node.tree_id, node.lft, node.rght, node.level):
                self.renumbered.add(code)

    def counts(self) -> tuple[int, int, int]:
        created = len(self.new_codes)
        updated = len(self.changed)
        return created, updated, len(self.rows) - created - updated

    # -- writing ------------------------------------------------------------------------------

    def write(self, progress: Progress) -> None:
        now = timezone.now()
        pks = {code: values["pk"] for code, values in self.existing.items()}
        for code, node in self.nodes.items():
            if node.pk:
                pks[code] = node.pk
        # New rows first: an existing row that the file moves under a new one needs the new
        # row's id for its parent_id. No constraint cares about the order of the two writes.
        self._create(pks, now, progress)
        self._update(pks, now, progress)

    def _create(self, pks: dict[str, int], now: dt.datetime, progress: Progress) -> None:
        # New rows, shallowest first, so every parent has its id before its children.
        depth: dict[str, int] = {}

        def depth_of(code: str) -> int:
            chain = []
            while code in self.rows and code not in self.existing and code not in depth:
                chain.append(code)
                code = self.rows[code].parent_code
            base = depth.get(code, 0)
            for i, c in enumerate(reversed(chain), start=1):
                depth[c] = base + i
            return depth[chain[0]] if chain else base

        by_depth: dict[int, list[str]] = defaultdict(list)
        for code in self.new_codes:
            by_depth[depth_of(code)].append(code)
        done = 0
        for level in sorted(by_depth):
            values = []
            for code in by_depth[level]:
                row, node = self.rows[code], self.nodes[code]
                values.append(
                    (
                        code,
                        row.name,
                        row.kind,
                        self._value(row, "grid_type", None),
                        self._value(row, "households", None),
                        *self._links(row, pks),
                        node.tree_id,
                        node.lft,
                        node.rght,
                        node.level,
                    )
                )
            for chunk in chunks(values, _WRITE_BATCH):
                pks.update(_insert_areas(chunk, now))
                done += len(chunk)
                progress("created", done, len(self.new_codes))

    def _update(self, pks: dict[str, int], now: dt.datetime, progress: Progress) -> None:
        # Changed rows: their fields, their links and their numbers (renumbered or not).
        changed = []
        for code in sorted(self.changed):
            row, old = self.rows[code], self.existing[code]
            numbers = self.nodes[code] if code in self.renumbered else None
            changed.append(
                (
                    old["pk"],
                    *(self._value(row, name, old) for name in _AREA_FIELDS),
                    *self._links(row, pks),
                    *(getattr(numbers, f) if numbers else old[f] for f in _TREE_FIELDS),
                )
            )
        # Rows only shifted by the renumbering (a one-row insert shifts a whole district):
        # nothing but their numbers changes.
        shifted = [
            (node.pk, *(getattr(node, f) for f in _TREE_FIELDS))
            for node in (self.nodes[code] for code in sorted(self.renumbered - self.changed.keys()))
        ]
        total, done = len(changed) + len(shifted), 0
        for columns, rows, updated_at in (
            (_CHANGED_COLUMNS, changed, now),
            (_TREE_FIELDS, shifted, None),
        ):
            for chunk in chunks(rows, _WRITE_BATCH):
                _update_areas(columns, chunk, updated_at)
                done += len(chunk)
                progress("updated", done, total)

    @staticmethod
    def _links(row: _AreaRow, pks: dict[str, int]) -> tuple[int | None, int | None]:
        parent = pks.get(row.parent_code) if row.parent_code else None
        if row.kind in rules.TREE_ROOT_KINDS:
            return None, parent
        return parent, None


# Rows per write statement. The writes below are one statement per batch, whatever their
# size, so a batch only bounds the memory of one statement and the spacing of progress reports.
_WRITE_BATCH = 10_000
_CHANGED_COLUMNS = (*_AREA_FIELDS, "parent_id", "upper_id", *_TREE_FIELDS)
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
}
_INSERT_COLUMNS = ("code", *_AREA_FIELDS, "parent_id", "upper_id", *_TREE_FIELDS)


def _pg_arrays(columns: tuple[str, ...], rows: list[tuple]) -> list[str]:
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
        else:
            items = ("NULL" if v is None else str(int(v)) for v in values)
        arrays.append("{" + ",".join(items) + "}")
    return arrays


def _insert_areas(rows: list[tuple], now: dt.datetime) -> dict[str, int]:
    """Insert ``rows`` (values in ``_INSERT_COLUMNS`` order); returns code -> new id.

    On PostgreSQL this is one ``INSERT … SELECT FROM unnest(arrays)``: one array parameter per
    column instead of a placeholder per cell, and no model instance per row, which is most
    of what ``bulk_create`` costs. Other databases go through ``bulk_create``.
    """
    if connection.vendor != "postgresql":
        names = _INSERT_COLUMNS
        areas = [
            Area(**dict(zip(names, row, strict=True)), created_at=now, updated_at=now)
            for row in rows
        ]
        return {area.code: area.pk for area in Area.objects.bulk_create(areas)}
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in (*_INSERT_COLUMNS, "created_at", "updated_at"))
    arrays = ", ".join(f"%s::{_PG_ARRAY_TYPES[c]}[]" for c in _INSERT_COLUMNS)
    sql = (
        f"INSERT INTO {qn(Area._meta.db_table)} ({columns}) "
        f"SELECT v.*, %s, %s FROM unnest({arrays}) AS v "
        f"RETURNING {qn('id')}, {qn('code')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, now, *_pg_arrays(_INSERT_COLUMNS, rows)])
        # RETURNING promises no order: match the ids up by code.
        return {code: pk for pk, code in cursor.fetchall()}


def _update_areas(
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
            cursor.execute(sql, [*stamp, *_pg_arrays(("id", *columns), rows)])
        return
    sets = [f"{qn(c)} = %s" for c in columns] + [f"{qn('updated_at')} = %s"] * len(stamp)
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {qn('id')} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*row[1:], *stamp, row[0]) for row in rows])


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


def area_export_headers() -> list[str]:
    return [c.label for c in AREA_COLUMNS]


# --------------------------------------------------------------------------------------------
# Heads
# --------------------------------------------------------------------------------------------


@dataclass
class _HeadRow:
    line: int
    area_code: str
    title: str
    name: str
    phone: str
    public: bool
    deputy: bool
    started_on: dt.date | None


def heads_import(
    *,
    table: Table,
    dry_run: bool = False,
    source: str = "",
    user=None,
    progress: Progress = no_progress,
) -> ImportReport:
    """Put the heads in ``table`` into their posts.

    A row whose post already has another current principal ends that holder's post (the
    history stays) and starts the new one. Posts that are not in the file are left alone:
    a partial file never removes anybody. Raises ``ImportFailed``; then nothing was written.
    """
    started = time.monotonic()
    report = ImportReport(
        target="heads", dry_run=dry_run, rows=len(table.rows), encoding=table.encoding
    )
    errors = report.errors
    cols = map_columns(table, HEAD_COLUMNS)

    def bad(line: int, key: str, message: str) -> None:
        errors.append(CellError(line, cols.label(key), message))

    rows: list[_HeadRow] = []
    for line, cells in table.rows:
        area_code = cols.get(cells, "area_code")
        if not area_code:
            bad(line, "area_code", _("the area code is empty"))
        title_text = cols.get(cells, "title")
        title = TITLE_LOOKUP.get(title_text.lower(), "")
        if not title:
            bad(
                line,
                "title",
                _("unknown title “%(v)s” (one of: %(names)s)")
                % {"v": title_text, "names": "、".join(n[0] for n in TITLE_NAMES.values())},
            )
        name = cols.get(cells, "name")
        if not name:
            bad(line, "name", _("the person's name is empty"))
        elif len(name) > 50:
            bad(line, "name", _("the person's name is longer than 50 characters"))
        phone = normalize_phone(cols.get(cells, "phone"))
        try:
            validate_phone(phone)
        except ValidationError as exc:
            bad(line, "phone", exc.messages[0] if phone else _("the phone number is empty"))
            phone = ""
        flags = {}
        for key, default in (("public", True), ("deputy", False)):
            text = cols.get(cells, key)
            flags[key] = default if not text else parse_bool(text)
            if flags[key] is None:
                bad(line, key, _("“%(v)s” is neither yes (是) nor no (否)") % {"v": text})
        started_on = None
        if text := cols.get(cells, "started_on"):
            started_on = parse_date(text)
            if started_on is None:
                bad(line, "started_on", _("“%(v)s” is not a date (YYYY-MM-DD)") % {"v": text})
            elif started_on > timezone.localdate():
                bad(line, "started_on", _("a post cannot start in the future"))
        # A row with a usable area and title still takes part in the checks across rows, so
        # that one upload reports every problem at once; the write needs every row clean.
        if area_code and title:
            rows.append(
                _HeadRow(
                    line,
                    area_code,
                    title,
                    name,
                    phone,
                    flags["public"],
                    flags["deputy"],
                    started_on,
                )
            )
    progress("read", len(rows), len(table.rows))

    with transaction.atomic():
        areas = _load_by_codes(r.area_code for r in rows)
        persons = _load_persons({r.phone for r in rows})
        seen_post: dict[tuple, int] = {}
        seen_phone: dict[str, _HeadRow] = {}
        for row in rows:
            area = areas.get(row.area_code)
            if area is None:
                bad(row.line, "area_code", _("unknown area code “%(v)s”") % {"v": row.area_code})
                continue
            message = rules.title_kind_error(row.title, area["kind"])
            if message:
                bad(row.line, "title", message)
            # One principal per post, and one person once per post (as principal or deputy).
            keys = [(row.area_code, row.title, "person", row.phone)]
            if not row.deputy:
                keys.append((row.area_code, row.title, "principal"))
            for key in keys:
                if key in seen_post and (row.phone or key[2] == "principal"):
                    bad(
                        row.line,
                        "title",
                        _("this post is already given on line %(first)s")
                        % {"first": seen_post[key]},
                    )
                    break
            for key in keys:
                seen_post.setdefault(key, row.line)
            if not row.phone or not row.name:
                continue
            first = seen_phone.setdefault(row.phone, row)
            if first.name != row.name:
                bad(
                    row.line,
                    "phone",
                    _("phone %(phone)s belongs to %(name)s on line %(first)s")
                    % {"phone": row.phone, "name": first.name, "first": first.line},
                )
        if errors:
            errors.sort(key=lambda e: (e.line, e.column))
            report.seconds = time.monotonic() - started
            raise ImportFailed(report)

        plan = _HeadPlan(rows, areas, persons)
        report.created, report.updated, report.unchanged = plan.counts()
        report.ended = len(plan.to_end)
        report.preview = plan.preview
        if not dry_run:
            plan.write()
            progress("written", len(rows), len(rows))
            report.seconds = time.monotonic() - started
            import_run_record(
                target=ImportRun.Target.HEADS, report=report, source=source, user=user
            )
    report.seconds = time.monotonic() - started
    return report


def _load_persons(phones: set[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    for chunk in chunks(sorted(phones), LOOKUP_CHUNK):
        for person in Person.objects.filter(phone__in=chunk):
            found[person.phone] = person
    return found


class _HeadPlan:
    def __init__(self, rows: list[_HeadRow], areas: dict[str, dict], persons: dict[str, Person]):
        self.rows, self.areas, self.persons = rows, areas, persons
        self.preview: list[tuple[int, str, str, str]] = []
        self.new_persons: dict[str, Person] = {}
        self.renamed: list[Person] = []
        self.to_create: list[tuple[_HeadRow, int]] = []
        self.to_update: list[Post] = []
        self.to_end: list[Post] = []
        self.unchanged = 0
        area_ids = [a["pk"] for a in areas.values()]
        current: list[Post] = []
        for chunk in chunks(area_ids, LOOKUP_CHUNK):
            current += Post.objects.filter(area_id__in=chunk, ended_on__isnull=True)
        principal = {(p.area_id, p.title): p for p in current if not p.is_deputy}
        by_person = {(p.area_id, p.title, p.person_id): p for p in current}
        today = timezone.localdate()
        for row in rows:
            person = persons.get(row.phone) or self.new_persons.get(row.phone)
            if person is None:
                person = self.new_persons[row.phone] = Person(name=row.name, phone=row.phone)
            elif person.pk and person.name != row.name:
                person.name = row.name
                self.renamed.append(person)
            area_id = self.areas[row.area_code]["pk"]
            label = f"{row.area_code} {TITLE_NAMES[row.title][0]} {row.name}"
            post = by_person.get((area_id, row.title, person.pk)) if person.pk else None
            holder = principal.get((area_id, row.title))
            if holder is not None and not row.deputy and holder.person_id != person.pk:
                # A new principal, or a deputy promoted: the current principal's post ends.
                holder.ended_on = max(row.started_on or today, holder.started_on)
                self.to_end.append(holder)
            if post is not None:
                if (post.is_public, post.is_deputy) != (
                    row.public,
                    row.deputy,
                ) or person in self.renamed:
                    post.is_public, post.is_deputy = row.public, row.deputy
                    self.to_update.append(post)
                    self._preview(row.line, "update", label)
                else:
                    self.unchanged += 1
                    self._preview(row.line, "unchanged", label)
                continue
            self.to_create.append((row, area_id))
            self._preview(row.line, "new", label)

    def _preview(self, line: int, action: str, what: str) -> None:
        if len(self.preview) < PREVIEW_ROWS:
            self.preview.append((line, action, what, ""))

    def counts(self) -> tuple[int, int, int]:
        return len(self.to_create), len(self.to_update), self.unchanged

    def write(self) -> None:
        for chunk in chunks(list(self.new_persons.values()), BATCH):
            Person.objects.bulk_create(chunk)
        Person.objects.bulk_update(self.renamed, ["name"], batch_size=BATCH)
        Post.objects.bulk_update(self.to_end, ["ended_on"], batch_size=BATCH)
        Post.objects.bulk_update(self.to_update, ["is_public", "is_deputy"], batch_size=BATCH)
        today = timezone.localdate()
        posts = [
            Post(
                person=self.persons.get(row.phone) or self.new_persons[row.phone],
                area_id=area_id,
                title=row.title,
                is_deputy=row.deputy,
                is_public=row.public,
                started_on=row.started_on or today,
            )
            for row, area_id in self.to_create
        ]
        for chunk in chunks(posts, BATCH):
            Post.objects.bulk_create(chunk)


def head_export_headers() -> list[str]:
    return [c.label for c in HEAD_COLUMNS]


def head_export_rows(queryset=None) -> Iterator[list]:
    """Current posts in tree order: one query, streamed."""
    queryset = Post.objects.filter(ended_on__isnull=True) if queryset is None else queryset
    values = queryset.order_by("area__tree_id", "area__lft", "title", "is_deputy").values_list(
        "area__code",
        "area__name",
        "title",
        "person__name",
        "person__phone",
        "is_public",
        "is_deputy",
        "started_on",
    )
    for code, area_name, title, name, phone, public, deputy, started_on in values.iterator(5000):
        yield [
            code,
            area_name,
            TITLE_NAMES[title][0],
            name,
            phone,
            "是" if public else "否",
            "是" if deputy else "否",
            started_on.isoformat(),
        ]
