"""Formula injection on every CSV and XLSX export of the project (issue 15).

Each export below is opened with every payload of ``FORMULA_PAYLOADS`` in a text field it
writes (placed with ``update()``, as an old row or a raw import could hold it: the intake's
own checks are not what is tested here), in each format it offers. The file is read back
with csv/openpyxl: no cell starts with a formula trigger, no XLSX cell is a formula, and
every payload is there, escaped. ``test_every_export_is_covered`` fails when an export
appears that this file does not open: a portal URL, an admin export, a command.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command, get_commands
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from import_export.admin import ImportExportMixin

from core.spreadsheets import _ooxml_unescape, escape_cell
from tests.conftest import _id_number
from tests.spreadsheet_checks import FORMULA_PAYLOADS, assert_no_formula, cells_of

from .conftest import CASES

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
WRITERS = re.compile(r"\b(spreadsheet_response|write_table)\(")

# Where the project writes spreadsheets (outside core/spreadsheets.py itself), and the
# exports below that cover each. A new file calling a writer fails the coverage test.
WRITING_MODULES = {
    "residents/views.py": {"residents:resident_export"},
    "issues/views.py": {"issues:inbox_ledger"},
    "digests/views.py": {"digests:digest_export"},
    "grids/admin.py": {"admin:grids_area_export", "admin:grids_post_export"},
    "grids/management/base.py": {"command:export_areas", "command:export_heads"},
    "residents/management/commands/export_residents.py": {"command:export_residents"},
    "core/admin_spreadsheets.py": {"admin:grids_department_export", "admin:issues_holiday_export"},
}
FORMATS = ("csv", "xlsx")


def _placed(values) -> list[str]:
    """What the payloads look like once stored (a service may strip them)."""
    return list(values)


def check(name: str, content: bytes, fmt: str, stored: list[str]) -> None:
    """The file holds no formula, and every stored payload in it, escaped; a CSV starts with
    the UTF-8 BOM that makes Excel read its Chinese."""
    if fmt == "csv":
        assert content.startswith(codecs.BOM_UTF8), f"{name}: a CSV without a BOM"
    assert_no_formula(content, fmt)
    cells = set()
    for row in cells_of(content, fmt):
        for cell in row:
            value = cell.value if fmt == "xlsx" else cell
            if isinstance(value, str):
                cells.add(_ooxml_unescape(value) if fmt == "xlsx" else value)
    missing = [p for p in stored if escape_cell(p) not in cells]
    assert not missing, f"{name}: payloads not written: {missing!r}"
    CASES[f"{name} ({fmt})"] += len(stored)


# --- the exports ------------------------------------------------------------------------


def _resident_rows(world) -> list[str]:
    from residents import services
    from residents.models import Resident

    for i, payload in enumerate(FORMULA_PAYLOADS):
        household = services.household_create(area=world.u1, door=f"F{i}")
        resident = services.resident_create(
            household=household, name=f"居民F{i}", id_number=_id_number(100 + i)
        )
        Resident.objects.filter(pk=resident.pk).update(name=payload)
    return _placed(FORMULA_PAYLOADS)


def _area_rows(world) -> list[str]:
    from grids import services
    from grids.models import Area
    from grids.rules import AreaKind

    for i, payload in enumerate(FORMULA_PAYLOADS):
        area = services.area_create(
            code=f"{world.b1.code}F{i}", name=f"F{i}单元", kind=AreaKind.UNIT, parent=world.b1
        )
        Area.objects.filter(pk=area.pk).update(name=payload)
    return _placed(FORMULA_PAYLOADS)


def _head_rows(world) -> list[str]:
    from grids import services
    from grids.models import Person
    from grids.rules import AreaKind, PostTitle

    for i, payload in enumerate(FORMULA_PAYLOADS):
        area = services.area_create(
            code=f"{world.b1.code}H{i}", name=f"H{i}单元", kind=AreaKind.UNIT, parent=world.b1
        )
        person = services.person_get_or_create(name=f"单元长{i}", phone=f"1380000{i:04d}")
        services.post_assign(area=area, title=PostTitle.UNIT_HEAD, person=person)
        Person.objects.filter(pk=person.pk).update(name=payload)
    return _placed(FORMULA_PAYLOADS)


def _ledger_rows(world) -> list[str]:
    from issues.models import Category, Ticket
    from issues.services import ticket_report

    for i, payload in enumerate(FORMULA_PAYLOADS):
        category = Category.objects.create(code=f"formula-{i}", name=f"类别{i}")
        ticket = ticket_report(
            area=world.u1,
            category=category,
            channel="walk_in",
            description=f"问题{i}",
            reporter_name="张三",
            reporter_phone="13900001234",
        )
        Category.objects.filter(pk=category.pk).update(name=payload)
        Ticket.objects.filter(pk=ticket.pk).update(description=payload)
    return _placed(FORMULA_PAYLOADS)


def _digest(world, kind: str):
    from digests.models import Digest
    from digests.services import digests_build

    digests_build(kind=kind, day=dt.date.today() - dt.timedelta(days=35), deliver=False)
    node = world.street if kind == "weekly" else world.county
    return Digest.objects.filter(kind=kind, node=node).latest("period_start")


def _monthly_digest(world) -> tuple[int, list[str]]:
    from digests.models import Digest

    digest = _digest(world, "monthly")
    figures = digest.figures
    model = figures["ranking"][0]
    figures["ranking"] = [
        {**model, "name": payload, "street": payload} for payload in FORMULA_PAYLOADS
    ]
    Digest.objects.filter(pk=digest.pk).update(figures=figures)
    return digest.pk, _placed(FORMULA_PAYLOADS)


def _weekly_digest(world) -> tuple[int, list[str]]:
    from digests.models import Digest

    digest = _digest(world, "weekly")
    figures = digest.figures
    figures["rectification"] = [
        {
            "id": i + 1,
            "street": payload,
            "community": payload,
            "category": payload,
            "place": payload,
            "handler": payload,
            "level": "grid",
            "state": "reported",
            "deadline": None,
            "overdue": True,
            "escalations": 0,
        }
        for i, payload in enumerate(FORMULA_PAYLOADS)
    ]
    Digest.objects.filter(pk=digest.pk).update(figures=figures)
    return digest.pk, _placed(FORMULA_PAYLOADS)


def _department_rows() -> list[str]:
    from grids.models import Department

    for i, payload in enumerate(FORMULA_PAYLOADS):
        Department.objects.create(code=f"formula{i}", name=payload, email="")
    return _placed(FORMULA_PAYLOADS)


def _holiday_rows() -> list[str]:
    from issues.models import Holiday

    for i, payload in enumerate(FORMULA_PAYLOADS):
        Holiday.objects.create(date=dt.date(2031, 1, 1 + i), name=payload, is_workday=False)
    return _placed(FORMULA_PAYLOADS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_resident_export(world, login_as, fmt):
    stored = _resident_rows(world)
    response = login_as("community").get(reverse("residents:resident_export"), {"format": fmt})
    assert response.status_code == 200
    check("residents:resident_export", response.content, fmt, stored)


def test_inbox_ledger(world, login_as):
    stored = _ledger_rows(world)
    response = login_as("community").get(reverse("issues:inbox_ledger"), {"tab": "area"})
    assert response.status_code == 200
    check("issues:inbox_ledger", response.content, "xlsx", stored)


@pytest.mark.parametrize(("kind", "persona"), [("monthly", "county"), ("weekly", "street")])
def test_digest_export(world, login_as, kind, persona):
    pk, stored = (_monthly_digest if kind == "monthly" else _weekly_digest)(world)
    response = login_as(persona).get(reverse("digests:digest_export", args=[pk]))
    assert response.status_code == 200
    check(f"digests:digest_export {kind}", response.content, "xlsx", stored)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("url", "rows"), [("area", _area_rows), ("post", _head_rows)])
def test_admin_tree_exports(world, login_as, url, rows, fmt):
    stored = rows(world)
    response = login_as("admin").get(reverse(f"admin:grids_{url}_export"), {"format": fmt})
    assert response.status_code == 200
    check(f"admin:grids_{url}_export", response.content, fmt, stored)


IMPORT_EXPORT = {
    "admin:grids_department_export": ("department", ("code", "name", "email"), _department_rows),
    "admin:issues_holiday_export": ("holiday", ("date", "name", "is_workday"), _holiday_rows),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(IMPORT_EXPORT))
def test_admin_import_export_exports(world, login_as, name, fmt):
    model, columns, rows = IMPORT_EXPORT[name]
    stored = rows()
    response = login_as("admin").post(
        reverse(name),
        {"format": str(FORMATS.index(fmt)), "resource": "0"}
        | {f"{model}resource_{c}": "on" for c in columns},
    )
    assert response.status_code == 200
    check(name, response.content, fmt, stored)


COMMANDS = {
    "export_areas": (_area_rows, ()),
    "export_heads": (_head_rows, ()),
    "export_residents": (_resident_rows, ("--user", "admin")),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_export_commands(world, tmp_path, command, fmt):
    rows, extra = COMMANDS[command]
    stored = rows(world)
    path = tmp_path / f"out.{fmt}"
    call_command(command, str(path), *extra, stdout=io.StringIO())
    check(f"command:{command}", path.read_bytes(), fmt, stored)


# --- nothing left out -------------------------------------------------------------------


def _covered() -> set[str]:
    return {
        "residents:resident_export",
        "issues:inbox_ledger",
        "digests:digest_export",
        "admin:grids_area_export",
        "admin:grids_post_export",
        *IMPORT_EXPORT,
        *(f"command:{c}" for c in COMMANDS),
    }


def _url_names(patterns, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_every_export_is_covered():
    covered = _covered()
    # Every module that writes a spreadsheet is one this file knows.
    writing = {
        str(path.relative_to(ROOT))
        for app in (
            "core",
            "grids",
            "residents",
            "issues",
            "points",
            "wishes",
            "deliberation",
            "councils",
            "citizens",
            "dashboard",
            "digests",
            "portal",
        )
        for path in (ROOT / app).rglob("*.py")
        if path.name != "spreadsheets.py" and WRITERS.search(path.read_text(encoding="utf-8"))
    }
    assert writing == set(WRITING_MODULES), "a module writes spreadsheets: cover its exports"
    assert set().union(*WRITING_MODULES.values()) == covered

    # Every URL named like an export or a ledger, outside the admin, is covered.
    names = _url_names(get_resolver().url_patterns)
    portal = {n for n in names if not n.startswith("admin:") and re.search(r"export|ledger", n)}
    assert portal == {n for n in covered if not n.startswith(("admin:", "command:"))}

    # Every admin with a spreadsheet export: django-import-export's and the tree's own.
    exporting = set()
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        if isinstance(model_admin, ImportExportMixin) or hasattr(model_admin, "export_view"):
            exporting.add("admin:{}_{}_export".format(*info))
    assert exporting == {n for n in covered if n.startswith("admin:")}

    # Every export command (the library's own is switched off: below).
    commands = {f"command:{c}" for c in get_commands() if c.startswith("export")}
    assert commands - {"command:export"} == {n for n in covered if n.startswith("command:")}


@pytest.mark.parametrize("command", ["export", "import"])
def test_the_librarys_own_commands_are_switched_off(world, command):
    from django.core.management.base import CommandError

    assert get_commands()[command] == "core.library_commands"
    with pytest.raises(CommandError, match="switched off"):
        call_command(command, "CSV", "residents.Resident", stdout=io.StringIO())


def test_the_payloads_are_the_dangerous_ones():
    assert len(FORMULA_PAYLOADS) >= 12
    for needle in ("=cmd|", "+1+1", "-2+3", "@SUM(", "=HYPERLINK(", "\t=", "\r=", "＝", "=DDE("):
        assert any(needle in p for p in FORMULA_PAYLOADS), needle
    assert all(escape_cell(p) != p for p in FORMULA_PAYLOADS)
