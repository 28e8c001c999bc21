"""The resident import: rows read, checked across each other and against the portal, planned
and written, all or nothing."""

from __future__ import annotations

import time

from django.db import transaction
from django.utils.translation import gettext as _

from core import audit
from core.importing import LOOKUP_CHUNK, ImportReport, Progress, chunks, import_failed, no_progress
from core.spreadsheets import CellError, ColumnMap, Table, map_columns
from grids.access import scope_for
from grids.models import Area, ImportRun
from grids.services import import_run_record
from residents.imports.columns import RESIDENT_EXPORT_COLUMNS
from residents.imports.plan import ResidentPlan
from residents.imports.rows import ResidentRow, parse_resident_rows
from residents.models import HOUSEHOLD_AREA_KINDS, Household, Resident
from residents.permissions import IMPORT, role_may


def residents_import(
    *,
    table: Table,
    user=None,
    dry_run: bool = False,
    source: str = "",
    progress: Progress = no_progress,
) -> ImportReport:
    """Create or update households and residents. ``user`` None: an admin's command-line run
    over everything. Raises ``ImportFailed``; then nothing was written."""
    started = time.monotonic()
    report = ImportReport(
        target="residents", dry_run=dry_run, rows=len(table.rows), encoding=table.encoding
    )
    cols = map_columns(table, RESIDENT_EXPORT_COLUMNS)  # an export read back as it is
    rows = parse_resident_rows(table, cols, report.errors)
    progress("read", len(rows), len(table.rows))

    with transaction.atomic():
        scope = scope_for(user) if user is not None else None
        areas = _areas_by_code({r.area_code for r in rows}, scope)
        existing = _residents_by_id_number({r.id_number for r in rows})
        households = _households_in(areas)
        _check_resident_rows(rows, areas, existing, scope, cols, report.errors)
        if report.errors:
            raise import_failed(report, started)
        plan = ResidentPlan(rows, areas, existing, households)
        report.created, report.updated, report.unchanged = plan.counts()
        report.preview = plan.preview
        if not dry_run:
            with audit.import_context(ImportRun.Target.RESIDENTS, source, user):
                plan.write(progress)
            report.seconds = time.monotonic() - started
            import_run_record(
                target=ImportRun.Target.RESIDENTS, report=report, source=source, user=user
            )
    report.seconds = time.monotonic() - started
    return report


# -- the checks across rows -------------------------------------------------------------------


def _areas_by_code(codes: set[str], scope) -> dict[str, Area]:
    """The areas with these codes, among those ``scope`` sees (all of them with no scope)."""
    areas: dict[str, Area] = {}
    for chunk in chunks(sorted(codes), LOOKUP_CHUNK):
        found = Area.objects.filter(code__in=chunk)
        if scope is not None:
            found = found.filter(scope.area_q())
        areas.update((a.code, a) for a in found)
    return areas


def _residents_by_id_number(id_numbers: set[str]) -> dict[str, Resident]:
    """The registered residents with these ID numbers, wherever they live."""
    existing: dict[str, Resident] = {}
    for chunk in chunks(sorted(id_numbers), LOOKUP_CHUNK):
        for resident in (
            Resident.objects.filter(id_number__in=chunk)
            .select_related("household__area")
            .prefetch_related("care_tags")
        ):
            existing[resident.id_number] = resident
    return existing


def _households_in(areas: dict[str, Area]) -> dict[tuple[int, str], Household]:
    """The households of these areas, by area id and door."""
    households: dict[tuple[int, str], Household] = {}
    for chunk in chunks([a.pk for a in areas.values()], LOOKUP_CHUNK):
        for household in Household.objects.filter(area_id__in=chunk):
            households[(household.area_id, household.door)] = household
    return households


def _may_import(scope, area: Area) -> bool:
    return scope is None or role_may(scope.role_for(area), IMPORT)


def _check_resident_rows(
    rows: list[ResidentRow],
    areas: dict[str, Area],
    existing: dict[str, Resident],
    scope,
    cols: ColumnMap,
    errors: list[CellError],
) -> None:
    """The checks across rows and against the portal: an area the user may import into that
    holds households, each ID number once and, if registered already, registered inside the
    user's areas, and one answer per household to "in the online group"."""

    def bad(line: int, key: str, message: str) -> None:
        errors.append(CellError(line, cols.label(key), message))

    seen_id: dict[str, int] = {}
    household_flags: dict[tuple[str, str], tuple[int, bool]] = {}
    for row in rows:
        area = areas.get(row.area_code)
        if area is None or not _may_import(scope, area):
            bad(row.line, "area_code", _("unknown area code “%(v)s”") % {"v": row.area_code})
            continue
        if area.kind not in HOUSEHOLD_AREA_KINDS:
            bad(
                row.line,
                "area_code",
                _("a household belongs to a unit, a building or a grid, not a %(kind)s")
                % {"kind": area.get_kind_display()},
            )
        if row.id_number in seen_id:
            bad(
                row.line,
                "id_number",
                _("this ID number appears again (first on line %(first)s)")
                % {"first": seen_id[row.id_number]},
            )
        seen_id.setdefault(row.id_number, row.line)
        old = existing.get(row.id_number)
        if old is not None and not _may_import(scope, old.household.area):
            bad(
                row.line,
                "id_number",
                _("this resident is registered outside your area and cannot be changed here"),
            )
        if row.in_online_group is not None:
            first = household_flags.setdefault(
                (row.area_code, row.door), (row.line, row.in_online_group)
            )
            if first[1] != row.in_online_group:
                bad(
                    row.line,
                    "in_online_group",
                    _("the same household says otherwise on line %(first)s") % {"first": first[0]},
                )
