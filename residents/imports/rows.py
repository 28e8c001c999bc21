"""Reading the rows of a resident spreadsheet: each cell parsed and checked on its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.importing import parse_bool, parse_date
from core.spreadsheets import CellError, ColumnMap, Table
from grids.validators import normalize_phone, validate_mobile
from residents.imports.columns import FLAG_COLUMNS, GENDERS, TAG_SPLIT
from residents.models import CareTag, Household, Resident
from residents.services import resident_fields_check


@dataclass
class ResidentRow:
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


# -- parsing the cells ------------------------------------------------------------------------

Bad = Callable[[str, str], None]  # (column key, message)


def parse_resident_rows(
    table: Table, cols: ColumnMap, errors: list[CellError]
) -> list[ResidentRow]:
    """The rows without errors; the errors of the others are added to ``errors``."""
    tags_by_name = _care_tags_by_name()
    rows: list[ResidentRow] = []
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
) -> ResidentRow:
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
    return ResidentRow(
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
    for tag_name in filter(None, TAG_SPLIT.split(text)):
        if tag_name in tags_by_name:
            tags.append(tags_by_name[tag_name])
        else:
            bad(
                "care_tags",
                _("unknown care tag “%(v)s” (one of: %(names)s)")
                % {"v": tag_name, "names": "、".join(t for t in tags_by_name if not t.isascii())},
            )
    return tuple(sorted(set(tags)))
