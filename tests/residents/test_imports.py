"""Resident spreadsheets: reading (three CSV encodings and XLSX, Chinese or English headers),
every error with its line and column, all-or-nothing, idempotent re-import, scope, the
commands and the query count.

Messages are compared in the active language (Chinese here) through gettext, never as
English literals. Lines count from the header (line 1), so the first data row is line 2.
"""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext

from core.importing import ImportFailed
from core.spreadsheets import read_table
from grids.access import scope_for
from grids.models import ImportRun
from residents.imports import RESIDENT_COLUMNS, residents_import
from residents.models import CareTag, Household, Resident

from .helpers import (
    COL,
    HEADERS_EN,
    HEADERS_ZH,
    csv_bytes,
    id_ending_in_x,
    insert_batches,
    make_id,
    mobile,
    row,
    statements,
    table,
    wrong_check,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


def _fail(tbl, **kwargs):
    with pytest.raises(ImportFailed) as caught:
        residents_import(table=tbl, **kwargs)
    return caught.value.report.errors


def _snapshot():
    """Everything an import may touch, to prove a failed or dry run touched nothing."""
    return (
        sorted(
            Resident.objects.values_list(
                "pk", "household_id", "name", "phone", "is_householder", "updated_at"
            )
        ),
        sorted(Household.objects.values_list("pk", "area_id", "door", "address", "updated_at")),
        sorted(Resident.care_tags.through.objects.values_list("resident_id", "caretag_id")),
        ImportRun.objects.count(),
    )


def _good_rows(world, n=3, start=1):
    return [
        row(
            world.u3.code,
            f"{900 + i}",
            f"新居民{i}",
            make_id(i),
            address="2栋",
            in_group="是",
            phone=mobile(i),
            householder="是",
            tags="独居老人、残疾人",
        )
        for i in range(start, start + n)
    ]


def test_headers_are_the_importers_labels():
    # The helper's column order and labels are what the export writes.
    assert [c.label for c in RESIDENT_COLUMNS] == HEADERS_ZH
    assert [c.key for c in RESIDENT_COLUMNS] == HEADERS_EN


# --- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk")]
)
@pytest.mark.parametrize("headers", [HEADERS_ZH, HEADERS_EN], ids=["zh", "en"])
def test_csv_in_every_excel_encoding(world, encoding, detected, headers):
    data = csv_bytes(_good_rows(world), headers, encoding)
    tbl = read_table(io.BytesIO(data), name="居民.csv")
    report = residents_import(table=tbl, source="居民.csv")
    assert (report.encoding, report.created, report.updated) == (detected, 3, 0)
    resident = Resident.objects.get(id_number=make_id(1))
    assert resident.name == "新居民1"  # Chinese read back intact, whatever the encoding
    assert resident.household.area == world.u3 and resident.household.door == "901"
    assert resident.household.address == "2栋" and resident.household.in_online_group
    assert sorted(t.name for t in resident.care_tags.all()) == ["残疾人", "独居老人"]
    assert ImportRun.objects.get().source == "居民.csv"


@pytest.mark.parametrize("headers", [HEADERS_ZH, HEADERS_EN], ids=["zh", "en"])
def test_xlsx(world, headers):
    rows = _good_rows(world)
    rows[0][1] = 901  # a number cell, as Excel stores a door number
    tbl = read_table(io.BytesIO(xlsx_bytes(rows, headers)), name="居民.xlsx")
    report = residents_import(table=tbl)
    assert (report.created, report.encoding) == (3, "")
    assert Household.objects.filter(area=world.u3, door="901").exists()
    assert Resident.objects.get(id_number=make_id(2)).phone == mobile(2)


def test_alias_headers_and_any_column_order(world):
    headers = ["公民身份号码", "姓名", "单元编码", "门牌号", "手机号"]
    number = id_ending_in_x()
    data = [[number[:-1] + "x", "别名", world.u3.code, "808", "+86 158 0000 0001"]]
    report = residents_import(table=table(data, headers))
    assert report.created == 1
    resident = Resident.objects.get(id_number=number)
    assert resident.phone == "15800000001"
    assert resident.gender == "M" and not resident.is_householder


def test_gender_and_birth_date_given_and_agreeing_are_accepted(world):
    data = [
        row(world.u3.code, "1", "甲", make_id(1, male=False), gender="女", birth="1990-01-01"),
        row(world.u3.code, "2", "乙", make_id(2), gender="男", birth="1990/01/01"),
        row(world.u3.code, "3", "丙", make_id(3), gender="male", birth="19900101"),
    ]
    assert residents_import(table=table(data)).created == 3
    assert Resident.objects.get(id_number=make_id(1, male=False)).gender == "F"


def test_a_date_as_chinese_excel_writes_it_to_csv(world):
    data = [row(world.u3.code, "2", "乙", make_id(2), birth="1990/1/1")]
    assert residents_import(table=table(data)).created == 1


# --- every error, with its line and column -------------------------------------------------


def _one_bad(world, area_code=None, door="777", name="坏行", id_number=None, **cells):
    """Two good rows around one bad one on line 3."""
    good = _good_rows(world, 2)
    bad = row(area_code or world.u3.code, door, name, id_number or make_id(50), **cells)
    return [good[0], bad, good[1]]


def _case(id_, overrides, column, message, marks=()):
    return pytest.param(overrides, column, message, id=id_, marks=marks)


ERROR_CASES = [
    _case(
        "bad-checksum",
        lambda w: {"id_number": wrong_check(make_id(50))},
        "id_number",
        lambda w: gettext("the ID number's check digit is wrong"),
    ),
    _case(
        "17-characters",
        lambda w: {"id_number": make_id(50)[:17]},
        "id_number",
        lambda w: gettext("an ID number has 18 characters, this one has %(n)s") % {"n": 17},
    ),
    _case(
        "19-characters",
        lambda w: {"id_number": make_id(50) + "1"},
        "id_number",
        lambda w: gettext("an ID number has 18 characters, this one has %(n)s") % {"n": 19},
    ),
    _case(
        "gender-contradicts-id",
        lambda w: {"id_number": make_id(50, male=True), "gender": "女"},
        "gender",
        lambda w: gettext("the gender does not match the ID number"),
    ),
    _case(
        "birth-date-contradicts-id",
        lambda w: {"birth": "1990-01-02"},
        "birth_date",
        lambda w: gettext("the birth date does not match the ID number"),
    ),
    _case(
        "bad-gender-word",
        lambda w: {"gender": "未知"},
        "gender",
        lambda w: gettext("“%(v)s” is neither 男 nor 女") % {"v": "未知"},
    ),
    _case(
        "bad-date",
        lambda w: {"birth": "1990-13-01"},
        "birth_date",
        lambda w: gettext("“%(v)s” is not a date (YYYY-MM-DD)") % {"v": "1990-13-01"},
    ),
    _case(
        "bad-mobile",
        lambda w: {"phone": "12345678901"},
        "phone",
        lambda w: (
            gettext("“%(value)s” is not a mobile number (11 digits starting 13–19)")
            % {"value": "12345678901"}
        ),
    ),
    _case(
        "unknown-care-tag",
        lambda w: {"tags": "独居老人、外星人"},
        "care_tags",
        None,
    ),
    _case(
        "empty-name",
        lambda w: {"name": ""},
        "name",
        lambda w: gettext("the person's name is empty"),
    ),
    _case(
        "empty-door",
        lambda w: {"door": ""},
        "door",
        lambda w: gettext("the door number is empty"),
    ),
    _case(
        "bad-yes-no-in-group",
        lambda w: {"in_group": "也许"},
        "in_online_group",
        lambda w: gettext("“%(v)s” is neither yes (是) nor no (否)") % {"v": "也许"},
    ),
    _case(
        "bad-yes-no-householder",
        lambda w: {"householder": "maybe"},
        "is_householder",
        lambda w: gettext("“%(v)s” is neither yes (是) nor no (否)") % {"v": "maybe"},
    ),
    _case(
        "unknown-area-code",
        lambda w: {"area_code": "NOPE-404"},
        "area_code",
        lambda w: gettext("unknown area code “%(v)s”") % {"v": "NOPE-404"},
    ),
    _case(
        "community-cannot-hold-households",
        lambda w: {"area_code": w.community_a.code},
        "area_code",
        lambda w: (
            gettext("a household belongs to a unit, a building or a grid, not a %(kind)s")
            % {"kind": w.community_a.get_kind_display()}
        ),
    ),
]


@pytest.mark.parametrize(("overrides", "column", "message"), ERROR_CASES)
def test_each_error_names_its_line_and_column(world, overrides, column, message):
    before = _snapshot()
    errors = _fail(table(_one_bad(world, **overrides(world))))
    assert [(e.line, e.column) for e in errors] == [(3, COL[column])]
    if message is not None:
        assert errors[0].message == message(world)
    else:
        assert "外星人" in errors[0].message and "独居老人" in errors[0].message
    assert _snapshot() == before


def test_the_same_id_twice_in_a_file(world):
    rows = _good_rows(world, 3)
    rows[2][7] = rows[0][7]
    errors = _fail(table(rows))
    assert [(e.line, e.column) for e in errors] == [(4, COL["id_number"])]
    assert errors[0].message == gettext(
        "this ID number appears again (first on line %(first)s)"
    ) % {"first": 2}


def test_the_same_id_twice_once_with_lowercase_x(world):
    number = id_ending_in_x()
    rows = [
        row(world.u3.code, "1", "甲", number),
        row(world.u3.code, "2", "甲", number[:-1] + "x"),
    ]
    assert [(e.line, e.column) for e in _fail(table(rows))] == [(3, COL["id_number"])]


def test_one_household_saying_two_things_about_its_group(world):
    rows = [
        row(world.u3.code, "501", "甲", make_id(1), in_group="是"),
        row(world.u3.code, "501", "乙", make_id(2), in_group="是"),
        row(world.u3.code, "501", "丙", make_id(3), in_group="否"),
        row(world.u3.code, "502", "丁", make_id(4), in_group="否"),
    ]
    errors = _fail(table(rows))
    assert [(e.line, e.column) for e in errors] == [(4, COL["in_online_group"])]
    assert errors[0].message == gettext("the same household says otherwise on line %(first)s") % {
        "first": 2
    }


def test_every_error_of_a_file_is_reported_at_once_in_line_order(world):
    rows = [
        row("NOPE", "1", "甲", make_id(1)),
        row(world.u3.code, "", "", make_id(2), phone="110"),
        row(world.u3.code, "3", "丙", make_id(3), tags="外星人"),
        row(world.u3.code, "4", "丁", make_id(3)),
    ]
    errors = _fail(table(rows))
    assert [(e.line, e.column) for e in errors] == [
        (2, COL["area_code"]),
        (3, COL["door"]),
        (3, COL["name"]),
        (3, COL["phone"]),
        (4, COL["care_tags"]),
    ]


def test_english_headers_name_columns_by_their_own_header(world):
    rows = _good_rows(world, 1)
    rows[0][8] = "12345"
    errors = _fail(table(rows, HEADERS_EN))
    assert [(e.line, e.column) for e in errors] == [(2, "I（phone）")]


def test_gbk_and_xlsx_report_the_same_lines(world):
    rows = _good_rows(world, 3)
    rows[1][0] = "NOPE"
    for tbl in (
        table(rows, encoding="gbk"),
        read_table(io.BytesIO(xlsx_bytes(rows)), name="x.xlsx"),
    ):
        assert [(e.line, e.column) for e in _fail(tbl)] == [(3, COL["area_code"])]


# --- all or nothing; dry run ---------------------------------------------------------------


def test_one_bad_row_among_good_ones_writes_nothing(world):
    rows = _good_rows(world, 20)
    rows[13][8] = "12812341234"
    # One good row would also change an existing resident: that must not happen either.
    u1 = world.residents["U1"]
    rows.append(row(world.u1.code, "101", "改了名", u1.id_number))
    before = _snapshot()
    errors = _fail(table(rows))
    assert [(e.line, e.column) for e in errors] == [(15, COL["phone"])]
    assert _snapshot() == before
    assert not ImportRun.objects.exists()
    u1.refresh_from_db()
    assert u1.name == "居民U1"


def test_dry_run_reports_and_writes_nothing(world):
    rows = _good_rows(world, 4)
    rows.append(row(world.u1.code, "101", "改了名", world.residents["U1"].id_number))
    before = _snapshot()
    report = residents_import(table=table(rows), dry_run=True)
    assert (report.created, report.updated, report.unchanged) == (4, 1, 0)
    assert report.dry_run
    assert [(line, action) for line, action, _label, _what in report.preview] == [
        (2, "new"),
        (3, "new"),
        (4, "new"),
        (5, "new"),
        (6, "update"),
    ]
    assert _snapshot() == before


def test_dry_run_reports_errors_like_a_real_run(world):
    rows = _good_rows(world, 2)
    rows[1][4] = ""
    assert [(e.line, e.column) for e in _fail(table(rows), dry_run=True)] == [(3, COL["name"])]


# --- re-import and updates -----------------------------------------------------------------


def test_re_import_changes_nothing(world):
    rows = _good_rows(world, 5)
    first = residents_import(table=table(rows))
    assert (first.created, first.updated, first.unchanged) == (5, 0, 0)
    before = _snapshot()
    again = residents_import(table=table(rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    after = _snapshot()
    assert after[:3] == before[:3]  # updated_at included: nothing was saved
    assert after[3] == before[3] + 1  # the run itself is recorded


def test_importing_the_world_as_it_is_changes_nothing(world):
    rows = []
    for key, resident in world.residents.items():
        household = world.households[key]
        rows.append(
            row(
                household.area.code,
                household.door,
                resident.name,
                resident.id_number,
                address=household.address,
                in_group="否",
                phone=resident.phone,
                householder="是",
                tags="",
            )
        )
    before = _snapshot()
    report = residents_import(table=table(rows))
    assert (report.created, report.updated, report.unchanged) == (0, 0, 6)
    assert _snapshot()[:3] == before[:3]


def test_a_changed_row_updates_the_resident_found_by_id_number(world):
    rows = _good_rows(world, 2)
    residents_import(table=table(rows))
    resident = Resident.objects.get(id_number=make_id(1))
    old_household, untouched = resident.household, Resident.objects.get(id_number=make_id(2))
    rows[0] = row(
        world.u1.code,  # moves to another unit …
        "1201",  # … into a household that does not exist yet
        "改名了",
        make_id(1),
        phone="+86 139 0000 8888",
        householder="否",
        tags="低保户",
    )
    report = residents_import(table=table(rows))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert report.preview[0][1] == "update"
    assert set(report.preview[0][3].split(", ")) == {
        "name",
        "phone",
        "is_householder",
        "household",
        "care_tags",
    }
    resident.refresh_from_db()
    assert resident.pk == Resident.objects.get(id_number=make_id(1)).pk
    assert resident.name == "改名了" and resident.phone == "13900008888"
    assert not resident.is_householder
    assert (resident.household.area, resident.household.door) == (world.u1, "1201")
    assert [t.name for t in resident.care_tags.all()] == ["低保户"]  # replaced, not added
    assert Household.objects.filter(pk=old_household.pk).exists()
    assert sorted(t.name for t in untouched.care_tags.all()) == ["残疾人", "独居老人"]
    assert Resident.objects.filter(id_number__in=[make_id(1), make_id(2)]).count() == 2


def test_moving_into_an_existing_household(world):
    u1 = world.residents["U1"]
    target = world.households["U2"]
    report = residents_import(table=table([row(world.u2.code, target.door, u1.name, u1.id_number)]))
    assert report.updated == 1
    u1.refresh_from_db()
    assert u1.household == target
    assert Household.objects.filter(area=world.u2).count() == 1


def test_household_fields_update_and_tags_column_absent_leaves_tags(world):
    u1 = world.residents["U1"]
    u1.care_tags.set(CareTag.objects.filter(name="退役军人"))
    headers = ["区域编码", "房号", "地址", "户在群", "姓名", "身份证号", "手机", "户主"]
    data = [[world.u1.code, "101", "新地址", "是", u1.name, u1.id_number, u1.phone, "是"]]
    residents_import(table=table(data, headers))
    household = world.households["U1"]
    household.refresh_from_db()
    assert (household.address, household.in_online_group) == ("新地址", True)
    assert [t.name for t in u1.care_tags.all()] == ["退役军人"]


def test_a_household_only_change_is_reported(world):
    u1 = world.residents["U1"]
    rows = [
        row(
            world.u1.code,
            "101",
            u1.name,
            u1.id_number,
            address="新地址",
            phone=u1.phone,
            householder="是",
        )
    ]
    report = residents_import(table=table(rows), dry_run=True)
    assert report.preview[0][1] == "update" or (report.updated, report.unchanged) == (1, 0)


def test_an_empty_tags_cell_clears_the_tags(world):
    u1 = world.residents["U1"]
    u1.care_tags.set(CareTag.objects.filter(name="退役军人"))
    rows = [row(world.u1.code, "101", u1.name, u1.id_number, phone=u1.phone, householder="是")]
    assert residents_import(table=table(rows)).updated == 1
    assert not u1.care_tags.exists()


def test_a_file_with_only_the_required_columns_leaves_phone_and_householder(world):
    u1 = world.residents["U1"]
    headers = ["区域编码", "房号", "姓名", "身份证号"]
    report = residents_import(table=table([[world.u1.code, "101", u1.name, u1.id_number]], headers))
    u1.refresh_from_db()
    assert (u1.phone, u1.is_householder) == ("13700000001", True)
    assert report.unchanged == 1


def test_a_new_household_takes_its_group_flag_from_any_of_its_rows(world):
    rows = [
        row(world.u3.code, "610", "甲", make_id(1)),
        row(world.u3.code, "610", "乙", make_id(2), in_group="是"),
    ]
    residents_import(table=table(rows))
    assert Household.objects.get(area=world.u3, door="610").in_online_group


# --- scope ----------------------------------------------------------------------------------


def test_a_community_worker_cannot_import_into_another_community(world):
    user = world.users["community"]
    rows = _good_rows(world, 2)
    rows.insert(1, row(world.u4.code, "909", "越界", make_id(60)))
    before = _snapshot()
    errors = _fail(table(rows), user=user)
    assert [(e.line, e.column) for e in errors] == [(3, COL["area_code"])]
    # Exactly the message for a code that does not exist: the area is not revealed.
    assert errors[0].message == gettext("unknown area code “%(v)s”") % {"v": world.u4.code}
    assert _snapshot() == before


def test_an_id_number_registered_outside_the_users_scope_is_refused(world):
    user = world.users["community"]
    u4 = world.residents["U4"]
    before = _snapshot()
    rows = [
        *_good_rows(world, 1),
        row(world.u3.code, "333", "冒名", u4.id_number, phone=mobile(99)),
    ]
    errors = _fail(table(rows), user=user)
    assert [(e.line, e.column) for e in errors] == [(3, COL["id_number"])]
    assert errors[0].message == gettext(
        "this resident is registered outside your area and cannot be changed here"
    )
    assert _snapshot() == before
    u4.refresh_from_db()
    assert (u4.name, u4.phone, u4.household) == ("居民U4", "13700000006", world.households["U4"])


def test_the_community_worker_imports_within_their_community(world):
    user = world.users["community"]
    u1 = world.residents["U1"]
    rows = [*_good_rows(world, 2), row(world.u1.code, "101", "本社区改名", u1.id_number)]
    report = residents_import(table=table(rows), user=user)
    assert (report.created, report.updated) == (2, 1)
    assert ImportRun.objects.get().user == user


@pytest.mark.parametrize("persona", ["grid_head", "unit_head", "street", "department"])
def test_a_role_without_import_finds_every_area_unknown(world, persona):
    # The grid head's own grid, its buildings and units all read as unknown.
    rows = [
        row(world.g1.code, "g-1", "甲", make_id(1)),
        row(world.b1.code, "b-1", "乙", make_id(2)),
        row(world.u1.code, "u-1", "丙", make_id(3)),
        row(world.u1.code, "101", "改名", world.residents["U1"].id_number),
    ]
    before = _snapshot()
    errors = _fail(table(rows), user=world.users[persona])
    assert [(e.line, e.column) for e in errors] == [(n, COL["area_code"]) for n in (2, 3, 4, 5)]
    assert {e.message for e in errors} == {
        gettext("unknown area code “%(v)s”") % {"v": code}
        for code in (world.g1.code, world.b1.code, world.u1.code)
    }
    assert _snapshot() == before


def test_admin_and_no_user_import_anywhere(world):
    rows = [
        row(world.u4.code, "u4-2", "甲", make_id(1)),
        row(world.g1.code, "g1-2", "乙", make_id(2)),
    ]
    assert residents_import(table=table(rows), user=world.users["admin"]).created == 2
    rows = [row(world.u3.code, "u3-2", "丙", make_id(3))]
    assert residents_import(table=table(rows)).created == 1


# --- the commands ---------------------------------------------------------------------------


def _write(tmp_path, rows, name="residents.csv", encoding="utf-8-sig"):
    path = tmp_path / name
    if name.endswith(".xlsx"):
        path.write_bytes(xlsx_bytes(rows))
    else:
        path.write_bytes(csv_bytes(rows, encoding=encoding))
    return path


def test_import_command_is_scoped_by_user(world, tmp_path, capsys):
    rows = [*_good_rows(world, 2), row(world.u4.code, "909", "越界", make_id(60))]
    path = _write(tmp_path, rows, encoding="gbk")
    before = _snapshot()
    with pytest.raises(CommandError):
        call_command("import_residents", str(path), "--user", "community")
    err = capsys.readouterr().err
    expected = gettext("unknown area code “%(v)s”") % {"v": world.u4.code}
    line = gettext("line %(line)s, column %(column)s: %(message)s") % {
        "line": 4,
        "column": COL["area_code"],
        "message": expected,
    }
    assert line in err
    assert _snapshot() == before
    # The same file as admin (no --user) goes through.
    call_command("import_residents", str(path), verbosity=0)
    assert Resident.objects.filter(id_number=make_id(60)).exists()


def test_import_command_refuses_an_unknown_login(world, tmp_path):
    path = _write(tmp_path, _good_rows(world, 1))
    with pytest.raises(CommandError, match="nobody"):
        call_command("import_residents", str(path), "--user", "nobody")
    assert not Resident.objects.filter(id_number=make_id(1)).exists()


def test_import_command_dry_run_writes_nothing(world, tmp_path, capsys):
    path = _write(tmp_path, _good_rows(world, 3), name="residents.xlsx")
    before = _snapshot()
    call_command("import_residents", str(path), "--user", "community", "--dry-run", verbosity=0)
    out = capsys.readouterr().out
    assert "dry run" in out
    assert _snapshot() == before
    call_command("import_residents", str(path), "--user", "community", verbosity=0)
    assert Resident.objects.filter(id_number__in=[make_id(i) for i in (1, 2, 3)]).count() == 3


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_command_masks_ids_and_phones(world, tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    call_command("export_residents", str(path), "--user", "community", stdout=io.StringIO())
    if fmt == "csv":
        text = path.read_bytes().decode("utf-8-sig")
        lines = [line.split(",") for line in text.splitlines()]
    else:
        from .helpers import xlsx_rows

        lines = xlsx_rows(path.read_bytes())
        text = "\n".join(",".join("" if v is None else str(v) for v in line) for line in lines)
    assert lines[0] == [*HEADERS_ZH, "地点"]  # the place's path last, for people
    assert len(lines) == 1 + len(world.residents)
    by_name = {line[4]: line for line in lines[1:]}
    for key, resident in world.residents.items():
        assert resident.id_number not in text and resident.phone not in text
        exported = by_name[resident.name]
        assert exported[7] == resident.id_number[0] + "*" * 16 + resident.id_number[-1]
        assert exported[8] == resident.phone[:3] + "****" + resident.phone[-4:]
        assert exported[0] == world.households[key].area.code
    assert by_name["居民U2"][-1] == "莲心社区 › 第1网格 › 1栋 › 2单元"


# --- no query per row -----------------------------------------------------------------------


def _many_rows(world, n, prefix, birth):
    units = [world.u1, world.u2, world.u3, world.b1, world.g1]
    return [
        row(
            units[i % len(units)].code,
            f"{prefix}{i}",
            f"批量{i}",
            make_id(i, birth=birth),
            in_group="是" if i % 2 else "否",
            phone=mobile(i),
            householder="是",
            tags="独居老人" if i % 3 else "",
        )
        for i in range(n)
    ]


def _measure(tbl, user):
    scope_for(user)  # the user's scope is built once per request; leave it out of the count
    with CaptureQueriesContext(connection) as captured:
        report = residents_import(table=tbl, user=user)
    return report, statements(captured)


def test_import_query_count_does_not_grow_with_rows(world):
    user = world.users["community"]
    small, small_q = _measure(table(_many_rows(world, 50, "S", "19700101")), user)
    large, large_q = _measure(table(_many_rows(world, 500, "L", "19710101")), user)
    assert (small.created, large.created) == (50, 500)
    tagged_small = sum(1 for i in range(50) if i % 3)
    tagged_large = sum(1 for i in range(500) if i % 3)
    # Everything but INSERT is the same; INSERTs grow only by the batches Django itself
    # splits one bulk insert into (SQLite's parameter limit; none on PostgreSQL).
    assert small_q - Counter(INSERT=small_q["INSERT"]) == large_q - Counter(
        INSERT=large_q["INSERT"]
    )
    through = Resident.care_tags.through
    expected_growth = sum(
        insert_batches(model, big) - insert_batches(model, little)
        for model, big, little in [
            (Household, 500, 50),
            (Resident, 500, 50),
            (through, tagged_large, tagged_small),
        ]
    )
    assert large_q["INSERT"] - small_q["INSERT"] == expected_growth


def test_re_import_query_count_is_the_same_for_50_and_500_rows(world):
    user = world.users["community"]
    rows = _many_rows(world, 500, "R", "19720101")
    residents_import(table=table(rows), user=user)
    small, small_q = _measure(table(rows[:50]), user)
    large, large_q = _measure(table(rows), user)
    assert (small.unchanged, large.unchanged) == (50, 500)
    assert small_q == large_q


def test_update_query_count_does_not_grow_with_rows(world):
    user = world.users["community"]
    small_rows = _many_rows(world, 50, "u", "19730101")
    large_rows = _many_rows(world, 500, "U", "19740101")
    residents_import(table=table(small_rows + large_rows), user=user)
    for cells in small_rows + large_rows:
        cells[4] += "改"  # every name changes
        cells[10] = "残疾人"  # and every tag set
    small, small_q = _measure(table(small_rows), user)
    large, large_q = _measure(table(large_rows), user)
    assert (small.updated, large.updated) == (50, 500)
    writes = ("UPDATE", "INSERT")
    assert small_q - Counter({k: small_q[k] for k in writes}) == large_q - Counter(
        {k: large_q[k] for k in writes}
    )
    # bulk_update and bulk_create write one statement per batch Django splits them into
    # (SQLite's parameter limit), never one per row.
    assert large_q["UPDATE"] - small_q["UPDATE"] <= 5
    assert large_q["INSERT"] - small_q["INSERT"] == insert_batches(
        Resident.care_tags.through, 500
    ) - insert_batches(Resident.care_tags.through, 50)


def test_shape_resident_import_reads_length_limits_from_the_models(world, monkeypatch):
    door_max = Household._meta.get_field("door").max_length
    name_max = Resident._meta.get_field("name").max_length
    too_long = [row(world.u3.code, "9" * (door_max + 1), "名" * (name_max + 1), make_id(1))]
    errors = _fail(table(too_long))
    assert [(e.line, e.column) for e in errors] == [(2, COL["door"]), (2, COL["name"])]
    assert [e.message for e in errors] == [
        gettext("the door number is longer than %(max)s characters") % {"max": door_max},
        gettext("the person's name is longer than %(max)s characters") % {"max": name_max},
    ]

    # A limit changed in the model is the import's limit at once.
    monkeypatch.setattr(Household._meta.get_field("door"), "max_length", 3)
    monkeypatch.setattr(Resident._meta.get_field("name"), "max_length", 2)
    errors = _fail(table([row(world.u3.code, "1001", "王小明", make_id(1))]))
    assert [e.message for e in errors] == [
        gettext("the door number is longer than %(max)s characters") % {"max": 3},
        gettext("the person's name is longer than %(max)s characters") % {"max": 2},
    ]
    assert not Resident.objects.filter(id_number=make_id(1)).exists()
