"""Planning and applying an area import.

The area import does not go through django-mptt one row at a time (each insert shifts the
numbering of the tree) nor through django-import-export's bulk mode (it looks parents up
before the batch is written and leaves the tree fields empty). It plans the whole file in
memory instead: rows are validated, parents resolved by code whatever their order, cycles
and kind rules checked, and the nested-set numbers of every district the file touches are
computed once (``grids.imports.numbering``). Then new rows go in (one batch per depth, so
parents have ids before their children), and changed and renumbered rows are updated, each
batch in one set-based statement (``grids.imports.sql``). Any error and nothing is written;
a dry run stops just before the writes and reports the same plan.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.importing import (
    PREVIEW_ROWS,
    ImportFailed,
    ImportReport,
    Progress,
    chunks,
    import_failed,
    no_progress,
)
from core.spreadsheets import CellError, ColumnMap, Table, map_columns
from grids import rules
from grids.imports.columns import AREA_COLUMNS, GRID_TYPE_LOOKUP, KIND_LOOKUP, KIND_NAMES
from grids.imports.numbering import number_trees
from grids.imports.sql import (
    AREA_FIELDS,
    CHANGED_COLUMNS,
    TREE_FIELDS,
    WRITE_BATCH,
    areas_by_code,
    insert_areas,
    update_areas,
)
from grids.models import Area, ImportRun, Post
from grids.rules import AreaKind, GridType
from grids.selectors import MovedNodes
from grids.services import area_name_error, import_run_record, lock_tree
from grids.signals import areas_moved
from grids.validators import validate_area_code


@dataclass
class _AreaRow:
    line: int
    code: str
    name: str
    kind: str
    parent_code: str
    grid_type: str | None  # None: column absent or cell empty, keep what is there
    households: int | None


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
    cols = map_columns(table, AREA_COLUMNS)
    rows = _parse_area_rows(table, cols, report.errors)
    progress("read", len(rows), len(table.rows))
    by_code = _first_of_each_code(rows, cols, report.errors)

    with transaction.atomic():
        lock_tree()
        plan = _plan(table, cols, rows, by_code, report, progress)
        if report.errors:
            raise import_failed(report, started)
        if not dry_run:
            try:
                with audit.import_context(ImportRun.Target.AREAS, source, user):
                    plan.write(progress)
            except IntegrityError as exc:  # a row written by someone else meanwhile
                report.errors.append(
                    CellError(0, "", _("the database refused the import: %(e)s") % {"e": exc})
                )
                raise ImportFailed(report) from exc
            report.seconds = time.monotonic() - started
            import_run_record(
                target=ImportRun.Target.AREAS, report=report, source=source, user=user
            )
    report.seconds = time.monotonic() - started
    return report


def _plan(
    table: Table,
    cols: ColumnMap,
    rows: list[_AreaRow],
    by_code: dict[str, _AreaRow],
    report: ImportReport,
    progress: Progress,
) -> _AreaPlan:
    """Check the rows against the portal and each other, number the districts they touch,
    and fill in the report's counts and preview."""
    errors = report.errors
    existing = areas_by_code([*by_code, *(r.parent_code for r in rows if r.parent_code)])
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
    return plan


# -- reading the rows -------------------------------------------------------------------------


def _parse_area_rows(table: Table, cols: ColumnMap, errors: list[CellError]) -> list[_AreaRow]:
    rows: list[_AreaRow] = []
    has_grid_type = "grid_type" in cols.index
    has_households = "households" in cols.index
    for line, cells in table.rows:

        def bad(key: str, message: str, line=line) -> None:
            errors.append(CellError(line, cols.label(key), message))

        code = _parse_code(cols.get(cells, "code"), bad)
        name = cols.get(cells, "name")
        if message := area_name_error(name):  # the rule area_create checks
            bad("name", message)
        kind = _parse_kind(cols.get(cells, "kind"), bad)
        parent_code = cols.get(cells, "parent_code")
        grid_type: str | None = None
        if has_grid_type and (text := cols.get(cells, "grid_type")):
            grid_type = _parse_grid_type(text, kind, bad)
        households: int | None = None
        if has_households and (text := cols.get(cells, "households")):
            households = _parse_households(text, bad)
        # A row with a usable code and kind still takes part in the checks across rows
        # (parents, duplicates, cycles), so that one upload reports every problem at once.
        if code and kind:
            rows.append(_AreaRow(line, code, name, kind, parent_code, grid_type, households))
    return rows


Bad = Callable[[str, str], None]  # (column key, message)


def _parse_code(code: str, bad: Bad) -> str:
    """The code if it is usable, else "" (and the error reported)."""
    if not code:
        bad("code", _("the code is empty"))
        return ""
    try:
        validate_area_code(code)  # the code shape the services and the model check
    except ValidationError as exc:
        bad("code", exc.messages[0])
        return ""
    return code


def _parse_kind(text: str, bad: Bad) -> str:
    kind = KIND_LOOKUP.get(text.lower(), "")
    if not kind:
        bad(
            "kind",
            _("unknown kind “%(v)s” (one of: %(names)s)")
            % {"v": text, "names": "、".join(n[0] for n in KIND_NAMES.values())},
        )
    return kind


def _parse_grid_type(text: str, kind: str, bad: Bad) -> str | None:
    grid_type = GRID_TYPE_LOOKUP.get(text.lower())
    if grid_type is None:
        bad("grid_type", _("unknown grid type “%(v)s” (基础网格 or 专属网格)") % {"v": text})
    elif kind and (message := rules.grid_type_error(kind, grid_type)):
        bad("grid_type", message)
    return grid_type


# The largest number ``Area.households`` holds (a PositiveIntegerField: PostgreSQL's integer).
MAX_HOUSEHOLDS = 2_147_483_647


def _parse_households(text: str, bad: Bad) -> int | None:
    try:
        households = int(text)
        if households < 0:
            raise ValueError
    except ValueError:
        bad("households", _("“%(v)s” is not a whole number of households") % {"v": text})
        return None
    if households > MAX_HOUSEHOLDS:
        bad(
            "households",
            _("“%(v)s” households is more than the portal can hold (%(max)s)")
            % {"v": text, "max": f"{MAX_HOUSEHOLDS:,}"},
        )
        return None
    return households


def _first_of_each_code(
    rows: list[_AreaRow], cols: ColumnMap, errors: list[CellError]
) -> dict[str, _AreaRow]:
    """code -> its first row; every later row with the same code is an error."""
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
    return by_code


# -- the plan ---------------------------------------------------------------------------------


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
        self.numbers: dict[str, tuple[int, int, int, int]] = {}  # code -> tree_id, lft, ...
        self.tree_pks: dict[str, int] = {}  # code -> pk of every row of a renumbered tree
        self.codes_in_file: set[str] = set()
        self.renumbered: set[str] = set()
        self.moved: set[str] = set()  # existing rows the file gives another parent
        self.relinked: set[str] = set()  # existing tree roots it hangs below another node
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
            if found := self._parent_error(row):
                self.error(row, *found)

    def _parent_error(self, row: _AreaRow) -> tuple[str, str] | None:
        """(column key, message) of what is wrong with ``row``'s parent, or None."""
        if (
            row.parent_code
            and row.parent_code not in self.rows
            and row.parent_code not in self.existing
        ):
            if row.parent_code in self.codes_in_file:
                return None  # the parent's row is in the file with errors of its own
            return (
                "parent_code",
                _("unknown parent code “%(code)s”: not in this file nor in the portal")
                % {"code": row.parent_code},
            )
        if row.parent_code == row.code:
            return "parent_code", _("an area cannot be its own parent")
        cycle = self._cycle_from(row)
        if cycle:
            return (
                "parent_code",
                _("the parents form a cycle: %(chain)s") % {"chain": " → ".join(cycle)},
            )
        message = rules.parent_kind_error(
            row.kind, self.kind_of(row.parent_code) if row.parent_code else None
        )
        if message:
            return ("kind" if not row.parent_code else "parent_code"), message
        return None

    def _cycle_from(self, row: _AreaRow) -> list[str] | None:
        """Follow parents within the file; a chain that comes back to itself is a cycle.

        Chains leaving the file end at an existing node; that node's own ancestors are
        checked by the numbering, which only reaches nodes that hang from a root."""
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

    def number_trees(self) -> None:
        moved = self.moved = self._compare_with_existing()
        if not self.new_codes and not moved:
            return  # names and counts only: no numbering changes
        affected = self._affected_trees(moved)
        tree_rows = list(
            Area.objects.filter(tree_id__in=affected)
            .order_by("tree_id", "lft")
            .values_list("pk", "code", "kind", "parent_id", *TREE_FIELDS)
        )
        # Plain tuples in TreeRow and Placement order: 100,000s of named tuples cost time.
        numbering = number_trees(
            tree_rows=tree_rows,
            placements={code: (row.kind, row.parent_code) for code, row in self.rows.items()},
            existing_codes=self.existing,
            next_tree_id=(Area.objects.aggregate(m=Max("tree_id"))["m"] or 0) + 1,
        )
        self.numbers, self.renumbered = numbering.numbers, numbering.renumbered
        self.tree_pks = {values[1]: values[0] for values in tree_rows}
        for code in numbering.unreached:
            row = self.rows[code]
            self.error(
                row,
                "parent_code",
                _("the parents form a cycle through existing areas (%(code)s)")
                % {"code": row.parent_code},
            )

    def _compare_with_existing(self) -> set[str]:
        """Sort the rows into new, changed and unchanged (and preview them); returns the
        codes of existing rows that move to another parent within the nested sets."""
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
            diffs = [f for f in AREA_FIELDS if self._value(row, f, old) != old[f]]
            if self._old_parent_code(old) != row.parent_code:
                diffs.append("parent")
                if row.kind not in rules.TREE_ROOT_KINDS:
                    moved.add(code)
                else:
                    self.relinked.add(code)  # a new ``upper``: no numbers change
            if diffs:
                self.changed[code] = diffs
                self._preview(row, "update", ", ".join(diffs))
            else:
                self._preview(row, "unchanged", "")
        return moved

    def _affected_trees(self, moved: set[str]) -> set[int]:
        """Every tree that gains, loses or reorders a node is renumbered whole, and only those."""
        rows, existing = self.rows, self.existing
        affected: set[int] = set()
        for code in [*self.new_codes, *moved]:
            if code in existing:
                affected.add(existing[code]["tree_id"])
            parent = rows[code].parent_code
            if parent in existing and rows[code].kind not in rules.TREE_ROOT_KINDS:
                affected.add(existing[parent]["tree_id"])
        return affected

    def _old_parent_code(self, values: dict) -> str:
        pk = values["parent_id"] or values["upper_id"]
        if pk is None:
            return ""
        return self._code_by_pk.get(pk) or self._parent_codes[pk]

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

    def counts(self) -> tuple[int, int, int]:
        created = len(self.new_codes)
        updated = len(self.changed)
        return created, updated, len(self.rows) - created - updated

    # -- writing ------------------------------------------------------------------------------

    def write(self, progress: Progress) -> None:
        now = timezone.now()
        pks = {code: values["pk"] for code, values in self.existing.items()}
        pks.update(self.tree_pks)
        # New rows first: an existing row that the file moves under a new one needs the new
        # row's id for its parent_id. No constraint cares about the order of the two writes.
        self._create(pks, now, progress)
        self._update(pks, now, progress)
        if self.moved or self.relinked:
            # Rows that copy their place's ancestors (problems, households) follow the moved
            # nodes, a street hung below another district included.
            moved = self.moved | self.relinked
            areas_moved.send(sender=Area, moved=MovedNodes(pks[code] for code in moved))

    def _create(self, pks: dict[str, int], now: dt.datetime, progress: Progress) -> None:
        # New rows, shallowest first, so every parent has its id before its children.
        by_depth = self._new_codes_by_depth()
        done = 0
        for level in sorted(by_depth):
            values = []
            for code in by_depth[level]:
                row = self.rows[code]
                values.append(
                    (
                        code,
                        row.name,
                        row.kind,
                        self._value(row, "grid_type", None),
                        self._value(row, "households", None),
                        *self._links(row, pks),
                        *self.numbers[code],
                    )
                )
            for chunk in chunks(values, WRITE_BATCH):
                pks.update(insert_areas(chunk, now))
                done += len(chunk)
                progress("created", done, len(self.new_codes))

    def _new_codes_by_depth(self) -> dict[int, list[str]]:
        """The new codes by how many new rows lie above them (1: the parent exists)."""
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
        return by_depth

    def _update(self, pks: dict[str, int], now: dt.datetime, progress: Progress) -> None:
        # Changed rows: their fields, their links and their numbers (renumbered or not).
        changed = []
        for code in sorted(self.changed):
            row, old = self.rows[code], self.existing[code]
            if code in self.renumbered:
                numbers = self.numbers[code]
            else:
                numbers = tuple(old[f] for f in TREE_FIELDS)
            changed.append(
                (
                    old["pk"],
                    *(self._value(row, name, old) for name in AREA_FIELDS),
                    *self._links(row, pks),
                    *numbers,
                )
            )
        # Rows only shifted by the renumbering (a one-row insert shifts its whole street):
        # nothing but their numbers changes.
        shifted = [
            (self.tree_pks[code], *self.numbers[code])
            for code in sorted(self.renumbered - self.changed.keys())
        ]
        total, done = len(changed) + len(shifted), 0
        for columns, rows, updated_at in (
            (CHANGED_COLUMNS, changed, now),
            (TREE_FIELDS, shifted, None),
        ):
            for chunk in chunks(rows, WRITE_BATCH):
                update_areas(columns, chunk, updated_at)
                done += len(chunk)
                progress("updated", done, total)

    @staticmethod
    def _links(row: _AreaRow, pks: dict[str, int]) -> tuple[int | None, int | None]:
        parent = pks.get(row.parent_code) if row.parent_code else None
        if row.kind in rules.TREE_ROOT_KINDS:
            return None, parent
        return parent, None
