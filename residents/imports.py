"""Spreadsheet import and (masked) export of households and residents.

One row a resident, carrying its household (area code + door number). The same rules as the
area import: three encodings and XLSX, every error with line and column, all-or-nothing,
and re-importing changes nothing (residents are matched by ID number, households by area
and door). Scoped: a user imports only into areas where their role may import; an area
outside it reads as unknown, and a known ID number outside it cannot be touched.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, When
from django.utils import timezone
from django.utils.translation import gettext as _

from core.importing import (
    BATCH,
    LOOKUP_CHUNK,
    PREVIEW_ROWS,
    ImportReport,
    Progress,
    chunks,
    import_failed,
    no_progress,
    parse_bool,
    parse_date,
)
from core.privacy import mask_id_number, mask_phone
from core.spreadsheets import CellError, Column, ColumnMap, Table, map_columns
from grids.access import scope_for
from grids.models import Area, ImportRun
from grids.services import import_run_record
from grids.validators import normalize_phone, validate_mobile
from residents.models import HOUSEHOLD_AREA_KINDS, CareTag, Household, Resident
from residents.permissions import IMPORT, role_may
from residents.services import resident_fields_check

RESIDENT_COLUMNS = (
    Column("area_code", "区域编码", ("单元编码", "areacode", "area")),
    Column("door", "房号", ("门牌号", "室号", "door")),
    Column("address", "地址", ("住址", "address"), required=False),
    Column(
        "in_online_group", "户在群", ("入群", "在群", "ingroup", "inonlinegroup"), required=False
    ),
    Column("name", "姓名", ("name",)),
    Column("gender", "性别", ("gender", "sex"), required=False),
    Column("birth_date", "出生日期", ("birthdate", "birthday"), required=False),
    Column("id_number", "身份证号", ("身份证号码", "公民身份号码", "idnumber", "id")),
    Column("phone", "手机", ("手机号", "联系电话", "phone", "mobile"), required=False),
    Column("is_householder", "户主", ("是否户主", "householder", "ishouseholder"), required=False),
    Column("care_tags", "关怀标签", ("标签", "caretags", "tags"), required=False),
)
GENDERS = {"男": "M", "m": "M", "male": "M", "女": "F", "f": "F", "female": "F"}
_TAG_SPLIT = re.compile(r"[、,，;；/\s]+")
FLAG_COLUMNS = ("in_online_group", "is_householder")


@dataclass
class _Row:
    line: int
    area_code: str
    door: str
    address: str | None
    in_online_group: bool | None
    name: str
    gender: str
    birth_date: dt.date
    id_number: str
    phone: str | None  # None: column absent, keep what is there
    is_householder: bool | None  # None: column absent, keep what is there
    tags: tuple[int, ...] | None  # None: column absent, leave tags alone


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
    cols = map_columns(table, RESIDENT_COLUMNS)
    rows = _parse_resident_rows(table, cols, report.errors)
    progress("read", len(rows), len(table.rows))

    with transaction.atomic():
        scope = scope_for(user) if user is not None else None
        areas = _areas_by_code({r.area_code for r in rows}, scope)
        existing = _residents_by_id_number({r.id_number for r in rows})
        households = _households_in(areas)
        _check_resident_rows(rows, areas, existing, scope, cols, report.errors)
        if report.errors:
            raise import_failed(report, started)
        plan = _ResidentPlan(rows, areas, existing, households)
        report.created, report.updated, report.unchanged = plan.counts()
        report.preview = plan.preview
        if not dry_run:
            plan.write(progress)
            report.seconds = time.monotonic() - started
            import_run_record(
                target=ImportRun.Target.RESIDENTS, report=report, source=source, user=user
            )
    report.seconds = time.monotonic() - started
    return report


# -- reading the rows -------------------------------------------------------------------------

Bad = Callable[[str, str], None]  # (column key, message)


def _parse_resident_rows(table: Table, cols: ColumnMap, errors: list[CellError]) -> list[_Row]:
    tags_by_name = _care_tags_by_name()
    rows: list[_Row] = []
    for line, cells in table.rows:

        def bad(key: str, message: str, line=line) -> None:
            errors.append(CellError(line, cols.label(key), message))

        found = len(errors)
        row = _parse_resident_row(line, cells, cols, tags_by_name, bad)
        # Only a row without errors takes part in the checks across rows and the plan.
        if len(errors) == found:
            rows.append(row)
    return rows


def _care_tags_by_name() -> dict[str, int]:
    """Care tag ids by name and by code: a file may name a tag either way."""
    tags_by_name: dict[str, int] = {}
    for tag in CareTag.objects.all():
        tags_by_name[tag.name] = tags_by_name[tag.code] = tag.pk
    return tags_by_name


def _parse_resident_row(
    line: int, cells: list[str], cols: ColumnMap, tags_by_name: dict[str, int], bad: Bad
) -> _Row:
    get = cols.get
    area_code, door, name = get(cells, "area_code"), get(cells, "door"), get(cells, "name")
    if not area_code:
        bad("area_code", _("the area code is empty"))
    _check_door(door, bad)
    _check_name(name, bad)
    id_number, gender, birth = _parse_identity(cells, cols, bad)
    phone = _parse_phone(get(cells, "phone"), bad)
    flags = {key: _parse_flag(key, get(cells, key), bad) for key in FLAG_COLUMNS}
    tags = None
    if "care_tags" in cols.index:
        tags = _parse_care_tags(get(cells, "care_tags"), tags_by_name, bad)
    return _Row(
        line,
        area_code,
        door,
        get(cells, "address") if "address" in cols.index else None,
        flags["in_online_group"],
        name,
        gender,
        birth,
        id_number,
        phone if "phone" in cols.index else None,
        bool(flags["is_householder"]) if "is_householder" in cols.index else None,
        tags,
    )


def _check_door(door: str, bad: Bad) -> None:
    if not door:
        bad("door", _("the door number is empty"))
    elif len(door) > (limit := Household._meta.get_field("door").max_length):
        bad("door", _("the door number is longer than %(max)s characters") % {"max": limit})


def _check_name(name: str, bad: Bad) -> None:
    if not name:
        bad("name", _("the person's name is empty"))
    elif len(name) > (limit := Resident._meta.get_field("name").max_length):
        bad("name", _("the person's name is longer than %(max)s characters") % {"max": limit})


def _parse_identity(cells: list[str], cols: ColumnMap, bad: Bad) -> tuple[str, str, dt.date | None]:
    """The ID number, gender and birth date, checked together as the services check them:
    the ID number carries the other two. The ID number is "" when it is refused."""
    gender = _parse_gender(cols.get(cells, "gender"), bad)
    birth = _parse_birth_date(cols.get(cells, "birth_date"), bad)
    try:
        return resident_fields_check(
            id_number=cols.get(cells, "id_number"), gender=gender or None, birth_date=birth
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            bad(field if field in cols.index else "id_number", messages[0])
        return "", gender, birth


def _parse_gender(text: str, bad: Bad) -> str:
    """ "M", "F", or "" when the cell is empty or refused."""
    if not text:
        return ""
    gender = GENDERS.get(text.lower(), "")
    if not gender:
        bad("gender", _("“%(v)s” is neither 男 nor 女") % {"v": text})
    return gender


def _parse_birth_date(text: str, bad: Bad) -> dt.date | None:
    if not text:
        return None
    birth = parse_date(text)
    if birth is None:
        bad("birth_date", _("“%(v)s” is not a date (YYYY-MM-DD)") % {"v": text})
    return birth


def _parse_phone(text: str, bad: Bad) -> str:
    phone = normalize_phone(text)
    if phone:
        try:
            validate_mobile(phone)
        except ValidationError as exc:
            bad("phone", exc.messages[0])
    return phone


def _parse_flag(key: str, text: str, bad: Bad) -> bool | None:
    """Yes or no; None when the cell is empty or refused."""
    if not text:
        return None
    value = parse_bool(text)
    if value is None:
        bad(key, _("“%(v)s” is neither yes (是) nor no (否)") % {"v": text})
    return value


def _parse_care_tags(text: str, tags_by_name: dict[str, int], bad: Bad) -> tuple[int, ...]:
    """The ids of the tags the cell names, sorted, each once."""
    tags = []
    for tag_name in filter(None, _TAG_SPLIT.split(text)):
        if tag_name in tags_by_name:
            tags.append(tags_by_name[tag_name])
        else:
            bad(
                "care_tags",
                _("unknown care tag “%(v)s” (one of: %(names)s)")
                % {"v": tag_name, "names": "、".join(t for t in tags_by_name if not t.isascii())},
            )
    return tuple(sorted(set(tags)))


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
    rows: list[_Row],
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


# -- the plan ---------------------------------------------------------------------------------


class _ResidentPlan:
    def __init__(
        self,
        rows: list[_Row],
        areas: dict[str, Area],
        existing: dict[str, Resident],
        households: dict[tuple[int, str], Household],
    ):
        self.rows, self.areas, self.existing, self.households = rows, areas, existing, households
        self.preview: list[tuple[int, str, str, str]] = []
        self.new_households: dict[tuple[int, str], Household] = {}
        self.changed_households: dict[int, Household] = {}
        self.new_residents: list[tuple[_Row, tuple[int, str]]] = []
        self.changed_residents: list[tuple[_Row, Resident, tuple[int, str]]] = []
        self.unchanged = 0
        for row in rows:
            self._plan_row(row)

    def _plan_row(self, row: _Row) -> None:
        key = (self.areas[row.area_code].pk, row.door)
        household_changed = self._plan_household(row, key)
        old = self.existing.get(row.id_number)
        label = f"{row.name} {mask_id_number(row.id_number)}"
        if old is None:
            self.new_residents.append((row, key))
            self._preview(row.line, "new", label)
            return
        diffs = self._diffs(row, old, key)
        if household_changed:
            diffs.append("household details")
        if diffs:
            self.changed_residents.append((row, old, key))
            self._preview(row.line, "update", label, ", ".join(diffs))
        else:
            self.unchanged += 1
            self._preview(row.line, "unchanged", label)

    def _plan_household(self, row: _Row, key: tuple[int, str]) -> bool:
        """Find or plan the row's household, taking the row's details; whether it is a
        registered household that changes (by this row or an earlier one)."""
        household = self.households.get(key) or self.new_households.get(key)
        if household is None:
            self.new_households[key] = Household(
                area=self.areas[row.area_code],
                door=row.door,
                address=row.address or "",
                in_online_group=bool(row.in_online_group),
            )
            return False
        if not household.pk:
            # Another row of the same new household: any explicit value counts (rows that
            # contradict each other were refused by the checks).
            if row.in_online_group is not None:
                household.in_online_group = row.in_online_group
            if row.address and not household.address:
                household.address = row.address
            return False
        changed = False
        if row.address is not None and household.address != row.address:
            household.address, changed = row.address, True
        if row.in_online_group is not None and household.in_online_group != row.in_online_group:
            household.in_online_group, changed = row.in_online_group, True
        if changed:
            self.changed_households[household.pk] = household
        return household.pk in self.changed_households

    @staticmethod
    def _diffs(row: _Row, old: Resident, key: tuple[int, str]) -> list[str]:
        diffs = [
            name
            for name in ("name", "phone", "is_householder")
            if getattr(row, name) is not None and getattr(row, name) != getattr(old, name)
        ]
        if (old.household.area_id, old.household.door) != key:
            diffs.append("household")
        if row.tags is not None and row.tags != tuple(sorted(t.pk for t in old.care_tags.all())):
            diffs.append("care_tags")
        return diffs

    def _preview(self, line: int, action: str, label: str, what: str = "") -> None:
        if len(self.preview) < PREVIEW_ROWS:
            self.preview.append((line, action, label, what))

    def counts(self) -> tuple[int, int, int]:
        return len(self.new_residents), len(self.changed_residents), self.unchanged

    def write(self, progress: Progress) -> None:
        now = timezone.now()
        self._write_households(now, progress)
        created = self._create_residents(now, progress)
        self._update_residents(now)
        self._write_care_tags(created)

    def _household_of(self, key: tuple[int, str]) -> Household:
        return self.households.get(key) or self.new_households[key]

    def _write_households(self, now: dt.datetime, progress: Progress) -> None:
        new_households = list(self.new_households.values())
        for chunk in chunks(new_households, BATCH):
            Household.objects.bulk_create(chunk)
        changed = list(self.changed_households.values())
        for household in changed:
            household.updated_at = now
        Household.objects.bulk_update(
            changed, ["address", "in_online_group", "updated_at"], batch_size=BATCH
        )
        progress("households", len(new_households) + len(changed), len(new_households))

    def _create_residents(self, now: dt.datetime, progress: Progress) -> list[Resident]:
        """The new residents, written; in the order of ``new_residents``."""
        created = [
            Resident(
                household=self._household_of(key),
                name=row.name,
                gender=row.gender,
                birth_date=row.birth_date,
                id_number=row.id_number,
                phone=row.phone or "",
                is_householder=bool(row.is_householder),
                created_at=now,
                updated_at=now,
            )
            for row, key in self.new_residents
        ]
        for chunk in chunks(created, BATCH):
            Resident.objects.bulk_create(chunk)
            progress("residents", len(chunk), len(created))
        return created

    def _update_residents(self, now: dt.datetime) -> None:
        updated = []
        for row, old, key in self.changed_residents:
            old.name = row.name
            if row.phone is not None:
                old.phone = row.phone
            if row.is_householder is not None:
                old.is_householder = row.is_householder
            old.household = self._household_of(key)
            old.updated_at = now
            updated.append(old)
        Resident.objects.bulk_update(
            updated,
            ["name", "phone", "is_householder", "household", "updated_at"],
            batch_size=BATCH,
        )

    def _write_care_tags(self, created: list[Resident]) -> None:
        """Replace the set of care tags for every row that names them and differs."""
        through = Resident.care_tags.through
        tagged = [(row, r) for (row, _key), r in zip(self.new_residents, created, strict=True)]
        tagged += [(row, old) for row, old, _key in self.changed_residents]
        tagged = [(row, r) for row, r in tagged if row.tags is not None]
        changed_pks = {old.pk for _row, old, _key in self.changed_residents}
        replace = [r.pk for _row, r in tagged if r.pk in changed_pks]
        for chunk in chunks(replace, LOOKUP_CHUNK):
            through.objects.filter(resident_id__in=chunk).delete()
        links = [through(resident_id=r.pk, caretag_id=t) for row, r in tagged for t in row.tags]
        for chunk in chunks(links, BATCH):
            through.objects.bulk_create(chunk)


def resident_export_headers() -> list[str]:
    return [c.label for c in RESIDENT_COLUMNS]


def resident_export_rows(
    queryset: QuerySet[Resident], *, birth_dates: Q | None = None
) -> Iterator[list]:
    """Rows for the resident spreadsheet, ID numbers and phones masked; streamed, with one
    query for the residents and one per 2,000 rows for their tags. With ``birth_dates``,
    the birth date is given only for residents that filter keeps (where the reader may
    reveal the ID number, ``permissions.may_see_birth_date``), left empty for the rest."""
    values = _export_values(queryset, birth_dates)
    tag_names = dict(CareTag.objects.values_list("pk", "name"))
    for batch in _batched(values.iterator(2000), 2000):
        tags = _tag_names_of(batch, tag_names)
        for resident in batch:
            yield _export_row(resident, tags)


def _export_values(queryset: QuerySet[Resident], birth_dates: Q | None) -> QuerySet:
    """The residents' exported fields, primary key first, in tree and door order."""
    if birth_dates:  # Q() keeps every row, as None does
        queryset = queryset.annotate(
            shown_birth_date=Case(When(birth_dates, then=F("birth_date")), default=None)
        )
    else:
        queryset = queryset.annotate(shown_birth_date=F("birth_date"))
    residents = queryset.order_by(
        "household__area__tree_id", "household__area__lft", "household__door", "pk"
    )
    return residents.values_list(
        "pk",
        "household__area__code",
        "household__door",
        "household__address",
        "household__in_online_group",
        "name",
        "gender",
        "shown_birth_date",
        "id_number",
        "phone",
        "is_householder",
    )


def _tag_names_of(batch: list[tuple], tag_names: dict[int, str]) -> dict[int, list[str]]:
    """The care tags' names of the residents in ``batch``, by resident id (one query)."""
    through = Resident.care_tags.through
    tags: dict[int, list[str]] = {}
    pairs = through.objects.filter(resident_id__in=[v[0] for v in batch])
    for resident_id, tag_id in pairs.values_list("resident_id", "caretag_id"):
        tags.setdefault(resident_id, []).append(tag_names[tag_id])
    return tags


def _export_row(values: tuple, tags: dict[int, list[str]]) -> list:
    pk, code, door, address, in_group, name, gender, birth, id_number, phone, householder = values
    return [
        code,
        door,
        address,
        "是" if in_group else "否",
        name,
        "男" if gender == "M" else "女",
        birth.isoformat() if birth else "",
        mask_id_number(id_number),
        mask_phone(phone),
        "是" if householder else "否",
        "、".join(tags.get(pk, [])),
    ]


def _batched(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
