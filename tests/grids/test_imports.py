"""Spreadsheet import and export of areas and heads, and the commands that drive them.

Messages are compared in the active language (Chinese in these tests) through gettext or
through the values they must quote, never as English literals.
"""

import csv
import datetime as dt
import io
import random

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from openpyxl import load_workbook

from core.spreadsheets import CellError, SpreadsheetError, Table, read_table, write_table
from grids import services
from grids.imports import (
    ImportFailed,
    ImportReport,
    area_export_headers,
    area_export_rows,
    areas_import,
    head_export_headers,
    head_export_rows,
    heads_import,
)
from grids.models import Area, ImportRun, Person, Post
from grids.rules import AreaKind, PostTitle
from grids.selectors import current_posts

from .factories import PersonFactory
from .helpers import (
    COUNTY_ROWS,
    csv_file,
    error_cells,
    insert_batches,
    logical_tree,
    spreadsheet_file,
    statements,
    tree_errors,
    tree_snapshot,
    trees_of,
    xlsx_file,
)

D = dt.date

AREA_HEADERS = ["编码", "名称", "类型", "上级编码", "网格类型", "户数"]
AREA_HEADERS_EN = ["code", "name", "kind", "parent_code", "grid_type", "households"]
HEAD_HEADERS = ["区域编码", "区域名称", "职务", "姓名", "手机", "公示", "副职", "任职日期"]
HEAD_HEADERS_EN = [
    "area_code",
    "area_name",
    "title",
    "name",
    "phone",
    "public",
    "deputy",
    "started_on",
]
# Written out here rather than taken from grids.imports: this is what admins type.
ZH_KIND = {
    "city": "市",
    "district": "区县",
    "street": "街道",
    "town": "乡镇",
    "community": "社区",
    "village": "村",
    "compound": "小区",
    "grid": "网格",
    "building": "楼栋",
    "unit": "单元",
}
ZH_GRID_TYPE = {"basic": "基础网格", "dedicated": "专属网格", "": ""}

# What the county of COUNTY_ROWS looks like once loaded, as ``logical_tree()`` reports it.
COUNTY = {
    code: (name, kind, parent, grid_type, households)
    for code, name, kind, parent, grid_type, households in COUNTY_ROWS
}


def county_rows_zh() -> list[list]:
    return [
        [code, name, ZH_KIND[kind], parent, ZH_GRID_TYPE[grid_type], households]
        for code, name, kind, parent, grid_type, households in COUNTY_ROWS
    ]


def county_rows_en() -> list[list]:
    return [list(row) for row in COUNTY_ROWS]


def import_areas(path, **kwargs) -> ImportReport:
    return areas_import(table=read_table(path), source=path.name, **kwargs)


def import_heads(path, **kwargs) -> ImportReport:
    return heads_import(table=read_table(path), source=path.name, **kwargs)


def counts(report: ImportReport) -> tuple[int, int, int]:
    return report.created, report.updated, report.unchanged


def cell_prefix(line: int, column: str) -> str:
    """How an error for this cell starts, in the active language."""
    return str(CellError(line, column, ""))


@pytest.fixture
def loaded(db, tmp_path):
    """The county loaded from a spreadsheet (rather than through the services)."""
    report = import_areas(csv_file(tmp_path, AREA_HEADERS, county_rows_zh(), name="county.csv"))
    assert counts(report) == (len(COUNTY_ROWS), 0, 0)
    return report


# -- errors -----------------------------------------------------------------------------------

# Lines 2-7 are good; each case appends bad rows from line 8 on.
GOOD_AREA_ROWS = county_rows_zh()[:6]  # C, D1, T1, CM1, G1, B1

AREA_ERRORS = {
    # name: (rows from line 8, [(line, column)], values the message must quote)
    "unknown parent code": (
        [["G9", "第9网格", "网格", "NOPE", "", ""]],
        [(8, "D（上级编码）")],
        ["NOPE"],
    ),
    "duplicate code reports the first line": (
        [["T1", "又一个镇", "乡镇", "D1", "", ""]],
        [(8, "A（编码）")],
        ["T1", "4"],
    ),
    "kind not allowed under that parent": (
        [["B9", "9栋", "楼栋", "CM1", "", ""]],
        [(8, "D（上级编码）")],
        [str(AreaKind.BUILDING.label), str(AreaKind.COMMUNITY.label)],
    ),
    "cycle within the file, every row": (
        [["X1", "甲社区", "社区", "X2", "", ""], ["X2", "乙社区", "社区", "X1", "", ""]],
        [(8, "D（上级编码）"), (9, "D（上级编码）")],
        ["X1", "X2"],
    ),
    "its own parent": ([["G9", "第9网格", "网格", "G9", "", ""]], [(8, "D（上级编码）")], []),
    "empty name": ([["G9", "", "网格", "CM1", "", ""]], [(8, "B（名称）")], []),
    "empty code": ([["", "第9网格", "网格", "CM1", "", ""]], [(8, "A（编码）")], []),
    "bad code characters": (
        [["G 9!", "第9网格", "网格", "CM1", "", ""]],
        [(8, "A（编码）")],
        ["G 9!"],
    ),
    "Chinese code": ([["网格9", "第9网格", "网格", "CM1", "", ""]], [(8, "A（编码）")], ["网格9"]),
    "code too long": ([["G" * 33, "第9网格", "网格", "CM1", "", ""]], [(8, "A（编码）")], []),
    "unknown kind": ([["G9", "第9网格", "网格区", "CM1", "", ""]], [(8, "C（类型）")], ["网格区"]),
    "bad grid type": (
        [["G9", "第9网格", "网格", "CM1", "超级网格", ""]],
        [(8, "E（网格类型）")],
        ["超级网格"],
    ),
    "grid type on a non-grid": (
        [["B9", "9栋", "楼栋", "G1", "基础网格", ""]],
        [(8, "E（网格类型）")],
        [],
    ),
    "negative households": ([["B9", "9栋", "楼栋", "G1", "", "-3"]], [(8, "F（户数）")], ["-3"]),
    "fractional households": (
        [["B9", "9栋", "楼栋", "G1", "", "12.5"]],
        [(8, "F（户数）")],
        ["12.5"],
    ),
    "text households": ([["B9", "9栋", "楼栋", "G1", "", "许多"]], [(8, "F（户数）")], ["许多"]),
    "households beyond the column": (  # a code pasted into the column, as a fuzzer did
        [["B9", "9栋", "楼栋", "G1", "", "369921001001"]],
        [(8, "F（户数）")],
        ["369921001001", "2,147,483,647"],
    ),
    "street without a parent": ([["S9", "新街道", "街道", "", "", ""]], [(8, "C（类型）")], []),
}


@pytest.mark.parametrize("case", AREA_ERRORS)
def test_area_import_error(db, tmp_path, case):
    bad_rows, cells, quoted = AREA_ERRORS[case]
    path = csv_file(tmp_path, AREA_HEADERS, [*GOOD_AREA_ROWS, *bad_rows])

    with pytest.raises(ImportFailed) as excinfo:
        import_areas(path)

    errors = excinfo.value.report.errors
    assert error_cells(errors) == cells
    for value in quoted:
        assert all(value in e.message for e in errors), (value, errors)
    assert not Area.objects.exists()
    assert not ImportRun.objects.exists()


def test_area_import_duplicate_message_names_the_first_line(db, tmp_path):
    rows = [*GOOD_AREA_ROWS, ["G9", "第9网格", "网格", "CM1", "", ""], ["G9", "重", "网格", "CM1"]]

    with pytest.raises(ImportFailed) as excinfo:
        import_areas(csv_file(tmp_path, AREA_HEADERS, rows))

    (error,) = excinfo.value.report.errors
    assert error == CellError(
        9,
        "A（编码）",
        gettext("code “%(code)s” appears again (first on line %(first)s)")
        % {"code": "G9", "first": 8},
    )


def test_area_import_reports_every_error_sorted_by_line(db, tmp_path):
    rows = [
        ["C", "抚阳市", "市", "", "", ""],  # 2
        ["D1", "东湖区", "区县", "C", "", ""],  # 3
        ["T1", "城关镇", "乡镇", "D1", "", ""],  # 4
        ["", "无编码社区", "社区", "T1", "", ""],  # 5: empty code
        ["CM1", "莲心社区", "社区", "T1", "基础网格", "许多"],  # 6: grid type, households
        ["G1", "", "网格", "CM1", "", ""],  # 7: empty name
        ["B1", "1栋", "楼栋", "CM1", "", ""],  # 8: building under a community
        ["T1", "重复镇", "乡镇", "D1", "", ""],  # 9: duplicate code
        ["G2", "第2网格", "网格", "ZZ", "", ""],  # 10: unknown parent
        ["U1", "1单元", "单元格", "G1", "", ""],  # 11: unknown kind
    ]

    with pytest.raises(ImportFailed) as excinfo:
        import_areas(csv_file(tmp_path, AREA_HEADERS, rows))

    # Line 11 is found while reading cells, lines 8-10 only when rows are compared: the
    # report is still in line order.
    assert error_cells(excinfo.value.report.errors) == [
        (5, "A（编码）"),
        (6, "E（网格类型）"),
        (6, "F（户数）"),
        (7, "B（名称）"),
        (8, "D（上级编码）"),
        (9, "A（编码）"),
        (10, "D（上级编码）"),
        (11, "C（类型）"),
    ]
    assert not Area.objects.exists()


def test_area_import_reports_cell_and_tree_errors_of_one_row_together(db, tmp_path):
    rows = [*GOOD_AREA_ROWS, ["B9", "9栋", "楼栋", "CM1", "", "-3"]]

    with pytest.raises(ImportFailed) as excinfo:
        import_areas(csv_file(tmp_path, AREA_HEADERS, rows))

    assert error_cells(excinfo.value.report.errors) == [(8, "D（上级编码）"), (8, "F（户数）")]


def test_area_import_line_numbers_count_blank_lines_and_xlsx_rows(db, tmp_path):
    rows = [*GOOD_AREA_ROWS, ["", "", "", "", "", ""], ["G9", "第9网格", "网格区", "CM1", "", ""]]

    for path in (
        csv_file(tmp_path, AREA_HEADERS, rows),
        xlsx_file(tmp_path, AREA_HEADERS, rows),
    ):
        with pytest.raises(ImportFailed) as excinfo:
            import_areas(path)
        assert error_cells(excinfo.value.report.errors) == [(9, "C（类型）")]


def test_area_import_a_bad_parent_row_does_not_make_its_children_unknown(db, tmp_path):
    rows = [
        ["C", "抚阳市", "市", "", "", ""],
        ["D1", "东湖区", "区县", "C", "", ""],
        ["T1", "城关镇", "乡镇镇", "D1", "", ""],  # line 4: unknown kind
        ["CM1", "莲心社区", "社区", "T1", "", ""],  # line 5: fine, its parent is on line 4
    ]

    with pytest.raises(ImportFailed) as excinfo:
        import_areas(csv_file(tmp_path, AREA_HEADERS, rows))

    assert error_cells(excinfo.value.report.errors) == [(4, "C（类型）")]


@pytest.mark.parametrize(
    ("headers", "cells", "quoted"),
    [
        ([*AREA_HEADERS, "颜色"], [(1, "G（颜色）")], "颜色"),
        (["编码", "名称", "上级编码"], [(1, "")], "类型"),
        (["编码", "名称", "类型", "上级编码", "编码"], [(1, "E（编码）")], "编码"),
        (["编码", "颜色", "类型", "上级编码"], [(1, "B（颜色）"), (1, "")], "颜色"),
    ],
    ids=["unknown column", "missing required column", "column twice", "unknown and missing"],
)
def test_area_import_header_errors(db, tmp_path, headers, cells, quoted):
    path = csv_file(tmp_path, headers, [["C", "抚阳市", "市", "", "", ""]])

    with pytest.raises(SpreadsheetError) as excinfo:
        import_areas(path)

    assert error_cells(excinfo.value.errors) == cells
    first = excinfo.value.errors[0]
    assert quoted in first.column + first.message
    assert not Area.objects.exists()


GOOD_HEAD_ROWS = [
    ["G1", "第1网格", "网格长", "王芳", "13800000001", "是", "否", "2024-01-01"],  # 2
    ["B1", "1栋", "楼栋长", "李强", "13800000002", "是", "否", ""],  # 3
]

HEAD_ERRORS = {
    "unknown area code": (
        [["NOPE", "", "网格长", "赵六", "13800000009", "", "", ""]],
        [(4, "A（区域编码）")],
        ["NOPE"],
    ),
    "empty area code": (
        [["", "", "网格长", "赵六", "13800000009", "", "", ""]],
        [(4, "A（区域编码）")],
        [],
    ),
    "title not allowed on that kind": (
        [["G2", "", "单元长", "赵六", "13800000009", "", "", ""]],
        [(4, "C（职务）")],
        [str(PostTitle.UNIT_HEAD.label), str(AreaKind.GRID.label)],
    ),
    "unknown title": (
        [["G2", "", "组长", "赵六", "13800000009", "", "", ""]],
        [(4, "C（职务）")],
        ["组长"],
    ),
    "bad phone number": (
        [["G2", "", "网格长", "赵六", "12345", "", "", ""]],
        [(4, "E（手机）")],
        ["12345"],
    ),
    "empty phone number": ([["G2", "", "网格长", "赵六", "", "", "", ""]], [(4, "E（手机）")], []),
    "empty name": ([["G2", "", "网格长", "", "13800000009", "", "", ""]], [(4, "D（姓名）")], []),
    "bad yes/no in public": (
        [["G2", "", "网格长", "赵六", "13800000009", "也许", "", ""]],
        [(4, "F（公示）")],
        ["也许"],
    ),
    "bad yes/no in deputy": (
        [["G2", "", "网格长", "赵六", "13800000009", "", "maybe", ""]],
        [(4, "G（副职）")],
        ["maybe"],
    ),
    "bad date": (
        [["G2", "", "网格长", "赵六", "13800000009", "", "", "2024-02-30"]],
        [(4, "H（任职日期）")],
        ["2024-02-30"],
    ),
    "date in words": (
        [["G2", "", "网格长", "赵六", "13800000009", "", "", "明天"]],
        [(4, "H（任职日期）")],
        ["明天"],
    ),
    "same post twice": (
        [["G1", "", "网格长", "赵六", "13800000009", "", "", ""]],
        [(4, "C（职务）")],
        ["2"],
    ),
    "same deputy twice": (
        [
            ["G2", "", "网格长", "赵六", "13800000009", "", "是", ""],
            ["G2", "", "网格长", "赵六", "13800000009", "", "是", ""],
        ],
        [(5, "C（职务）")],
        ["4"],
    ),
    "one phone with two names": (
        [["B2", "", "楼栋长", "王芳芳", "13800000001", "", "", ""]],
        [(4, "E（手机）")],
        ["王芳", "13800000001", "2"],
    ),
}


@pytest.mark.parametrize("case", HEAD_ERRORS)
def test_head_import_error(county, tmp_path, case):
    bad_rows, cells, quoted = HEAD_ERRORS[case]
    path = csv_file(tmp_path, HEAD_HEADERS, [*GOOD_HEAD_ROWS, *bad_rows])

    with pytest.raises(ImportFailed) as excinfo:
        import_heads(path)

    errors = excinfo.value.report.errors
    assert error_cells(errors) == cells
    for value in quoted:
        assert all(value in e.message for e in errors), (value, errors)
    assert not Post.objects.exists()
    assert not Person.objects.exists()
    assert not ImportRun.objects.exists()


def test_head_import_reports_every_error_sorted_by_line(county, tmp_path):
    rows = [
        ["U1", "", "单元长", "周一", "13800000011", "", "", ""],  # 2 fine
        ["G1", "", "网格长", "", "1380000", "不一定", "", ""],  # 3: name, phone, public
        ["NOPE", "", "网格长", "吴二", "13800000012", "", "", ""],  # 4: area
        ["B1", "", "网格长", "郑三", "13800000013", "", "", "2024-13-01"],  # 5: title, date
        ["B1", "", "单元长", "郑三", "13800000013", "", "", ""],  # 6: title on kind
        ["U2", "", "单元长", "周壹", "13800000011", "", "", ""],  # 7: phone, other name
        ["U1", "", "单元长", "钱四", "13800000014", "", "", ""],  # 8: post given on 2
    ]

    with pytest.raises(ImportFailed) as excinfo:
        import_heads(csv_file(tmp_path, HEAD_HEADERS, rows))

    assert error_cells(excinfo.value.report.errors) == [
        (3, "D（姓名）"),
        (3, "E（手机）"),
        (3, "F（公示）"),
        (4, "A（区域编码）"),
        (5, "C（职务）"),
        (5, "H（任职日期）"),
        (6, "C（职务）"),
        (7, "E（手机）"),
        (8, "C（职务）"),
    ]
    assert not Post.objects.exists()


def test_head_import_reports_cell_and_area_errors_of_one_row_together(county, tmp_path):
    rows = [["B1", "", "网格长", "郑三", "13800000013", "", "", "2024-13-01"]]

    with pytest.raises(ImportFailed) as excinfo:
        import_heads(csv_file(tmp_path, HEAD_HEADERS, rows))

    assert error_cells(excinfo.value.report.errors) == [(2, "C（职务）"), (2, "H（任职日期）")]


def test_head_import_header_errors(county, tmp_path):
    path = csv_file(tmp_path, ["区域编码", "职务", "姓名", "备注"], [["G1", "网格长", "王芳", "x"]])

    with pytest.raises(SpreadsheetError) as excinfo:
        import_heads(path)

    assert error_cells(excinfo.value.errors) == [(1, "D（备注）"), (1, "")]


# -- formats, headers, kind names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "encoding"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk"), ("xlsx", "")],
)
def test_every_format_imports_the_same_tree(db, tmp_path, fmt, encoding):
    path = spreadsheet_file(tmp_path, fmt, AREA_HEADERS, county_rows_zh())

    report = import_areas(path)

    assert report.encoding == encoding
    assert counts(report) == (len(COUNTY_ROWS), 0, 0)
    assert logical_tree() == COUNTY
    assert tree_errors() == []


def test_a_gbk_file_is_really_gbk(tmp_path):
    path = csv_file(tmp_path, AREA_HEADERS, county_rows_zh(), encoding="gbk")

    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("fmt", ["utf-8", "xlsx"])
def test_english_headers_and_kind_slugs(db, tmp_path, fmt):
    path = spreadsheet_file(tmp_path, fmt, AREA_HEADERS_EN, county_rows_en())

    report = import_areas(path)

    assert counts(report) == (len(COUNTY_ROWS), 0, 0)
    assert logical_tree() == COUNTY


def test_headers_in_any_order_and_optional_columns_left_out(db, tmp_path):
    rows = [[parent, code, ZH_KIND[kind], name] for code, name, kind, parent, *_ in COUNTY_ROWS]

    import_areas(csv_file(tmp_path, ["上级编码", "编码", "类型", "名称"], rows))

    assert {c: v[:3] for c, v in logical_tree().items()} == {c: v[:3] for c, v in COUNTY.items()}
    # Without a grid-type column a grid is basic; without households, 0.
    assert logical_tree()["G2"][3:] == ("basic", 0)


def test_kind_name_aliases(db, tmp_path):
    rows = [
        ["C", "抚阳市", "地级市", ""],
        ["D1", "东湖区", "区", "C"],
        ["D2", "西山县", "县", "C"],
        ["D3", "北岭县", "District", "C"],
        ["S1", "东门街道", "街道办", "D1"],
        ["T1", "城关镇", "镇", "D1"],
        ["T2", "石门乡", "乡", "D2"],
        ["CM1", "莲心社区", "居委会", "S1"],
        ["V1", "上坪村", "行政村", "T1"],
        ["V2", "下坑村", "村委会", "T2"],
        ["Z1", "锦绣片区", "片区", "CM1"],
        ["G1", "第1网格", "GRID", "Z1"],
        ["B1", "1栋", "栋", "G1"],
        ["B2", "2号楼", "楼", "G1"],
        ["U1", "1单元", "Unit", "B1"],
    ]

    import_areas(csv_file(tmp_path, ["编码", "名称", "层级", "父级编码"], rows))

    kinds = {code: v[1] for code, v in logical_tree().items()}
    assert kinds == {
        "C": "city",
        "D1": "district",
        "D2": "district",
        "D3": "district",
        "S1": "street",
        "T1": "town",
        "T2": "town",
        "CM1": "community",
        "V1": "village",
        "V2": "village",
        "Z1": "compound",
        "G1": "grid",
        "B1": "building",
        "B2": "building",
        "U1": "unit",
    }
    assert tree_errors() == []


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_children_before_parents(db, tmp_path, order):
    rows = county_rows_zh()
    if order == "reversed":
        rows.reverse()
    else:
        random.Random(11).shuffle(rows)

    report = import_areas(csv_file(tmp_path, AREA_HEADERS, rows))

    assert report.created == len(COUNTY_ROWS)
    assert logical_tree() == COUNTY
    assert tree_errors() == []


def test_the_file_order_of_siblings_is_kept_for_new_rows(db, tmp_path):
    import_areas(csv_file(tmp_path, AREA_HEADERS, county_rows_zh()))

    cm1 = Area.objects.get(code="CM1")
    assert [a.code for a in cm1.get_children()] == ["G1", "G2", "Z1"]
    assert Area.objects.get(code="T1").get_descendant_count() == 14
    assert Area.objects.get(code="D1").get_descendant_count() == 0  # its towns: trees of their own


# -- re-import and changes --------------------------------------------------------------------


def test_reimport_changes_nothing(loaded, tmp_path):
    path = csv_file(tmp_path, AREA_HEADERS, county_rows_zh(), name="again.csv")
    before, tree_before = tree_snapshot(), logical_tree()

    report = import_areas(path)

    assert counts(report) == (0, 0, len(COUNTY_ROWS))
    assert report.renumbered == 0
    assert tree_snapshot() == before  # updated_at and tree fields included
    assert logical_tree() == tree_before


def test_reimport_of_a_part_of_the_file_changes_nothing(loaded, tmp_path):
    before = tree_snapshot()
    rows = [r for r in county_rows_zh() if r[0] in {"G2", "B3", "V2", "U1"}]

    report = import_areas(csv_file(tmp_path, AREA_HEADERS, rows, name="part.csv"))

    assert counts(report) == (0, 0, 4)
    assert tree_snapshot() == before


def test_changed_rows_update_by_code(loaded, tmp_path):
    rows = county_rows_zh()
    by_code = {r[0]: r for r in rows}
    by_code["G4"][1] = "第四网格"  # rename
    by_code["B1"][5] = 50  # households
    by_code["G2"][3] = "CM2"  # move, with its building B3, to another community of D1
    others = trees_of("D2", "D3", "C")
    before = tree_snapshot()

    report = import_areas(csv_file(tmp_path, AREA_HEADERS, rows, name="changed.csv"))

    assert counts(report) == (0, 3, len(COUNTY_ROWS) - 3)
    expected = dict(COUNTY)
    expected["G4"] = ("第四网格", *COUNTY["G4"][1:])
    expected["B1"] = (*COUNTY["B1"][:4], 50)
    expected["G2"] = ("第2网格", "grid", "CM2", "dedicated", 320)
    assert logical_tree() == expected
    assert tree_errors() == []
    after = tree_snapshot()
    assert {c: after[c] for c in others} == {c: before[c] for c in others}
    # Only changed rows get a new updated_at; renumbered ones keep theirs.
    assert {c for c in before if after[c][4] != before[c][4]} == {"G4", "B1", "G2"}
    b3 = Area.objects.get(code="B3")
    cm2 = Area.objects.get(code="CM2")
    assert cm2.lft < b3.lft < b3.rght < cm2.rght
    assert b3.get_ancestors().filter(code="CM1").count() == 0


def test_a_move_across_districts_renumbers_only_those_two_towns(loaded, tmp_path):
    rows = county_rows_zh()
    next(r for r in rows if r[0] == "V1")[3] = "T2"  # the village and its grid move to D2
    untouched = trees_of("C", "D1", "D2", "D3", "S1", "T3")
    before = tree_snapshot()

    report = import_areas(csv_file(tmp_path, AREA_HEADERS, rows, name="moved.csv"))

    assert counts(report) == (0, 1, len(COUNTY_ROWS) - 1)
    after = tree_snapshot()
    assert {c: after[c] for c in untouched} == {c: before[c] for c in untouched}
    t2 = Area.objects.get(code="T2")
    assert {a.code for a in Area.objects.filter(tree_id=t2.tree_id)} == {
        "T2",
        "V2",
        "G6",
        "V1",
        "G5",
    }
    assert Area.objects.get(code="G5").level == 2
    assert tree_errors() == []


def test_a_new_row_renumbers_only_its_own_street(county, tmp_path):
    rows = [["G9", "东门第1网格", "网格", "CM3", "基础网格", 300]]
    others = trees_of("C", "D1", "D2", "D3", "T1", "T2", "T3")
    before = tree_snapshot()

    report = import_areas(csv_file(tmp_path, AREA_HEADERS, rows))

    assert report.created == 1
    # CM3 is the last subtree of S1: only it and S1 widen.
    after = tree_snapshot()
    assert report.renumbered == 2
    assert {c for c in before if after[c] != before[c]} == {"CM3", "S1"}
    assert {c: after[c] for c in others} == {c: before[c] for c in others}
    assert tree_errors() == []


def test_import_under_areas_made_through_the_services(county, tmp_path):
    rows = [
        ["B9", "9栋", "楼栋", "G3", "", 40],
        ["U9", "1单元", "单元", "B9", "", 20],
        ["G9", "下坑村第2组", "网格", "V2", "", ""],
        ["D4", "南溪县", "区县", "C", "", ""],
        ["T4", "南溪镇", "乡镇", "D4", "", ""],
    ]

    report = import_areas(csv_file(tmp_path, AREA_HEADERS, rows))

    assert counts(report) == (5, 0, 0)
    assert tree_errors() == []
    d4 = Area.objects.get(code="D4")
    assert (d4.upper.code, d4.parent, d4.level) == ("C", None, 0)
    assert d4.tree_id not in {a.tree_id for a in Area.objects.exclude(code__in=["D4", "T4"])}


def test_a_kind_change_that_would_break_children_or_posts_is_refused(county, tmp_path):
    services.post_assign(area=county["G4"], title="grid_head", person=PersonFactory())
    rows = [
        ["G1", "第1网格", "小区", "CM1", "", ""],  # its buildings cannot sit under a compound
        ["G4", "第4网格", "小区", "CM2", "", ""],  # its grid head cannot sit on a compound
        ["G6", "下坑村第1组", "网格", "V2", "", ""],  # fine
    ]
    before = tree_snapshot()

    with pytest.raises(ImportFailed) as excinfo:
        import_areas(csv_file(tmp_path, AREA_HEADERS, rows))

    errors = excinfo.value.report.errors
    assert error_cells(errors) == [(2, "C（类型）"), (2, "C（类型）"), (3, "C（类型）")]
    assert ["B1" in errors[0].message, "B2" in errors[1].message] == [True, True]
    assert str(PostTitle.GRID_HEAD.label) in errors[2].message
    assert tree_snapshot() == before


def test_a_kind_change_that_fits_is_applied(county, tmp_path):
    rows = [["T1", "城关镇", "街道", "D1", "", ""], ["G3", "第3网格", "网格", "Z1", "专属网格", ""]]

    report = import_areas(csv_file(tmp_path, AREA_HEADERS, rows))

    assert counts(report) == (0, 2, 0)
    assert logical_tree()["T1"] == ("城关镇", "street", "D1", "", 0)
    assert logical_tree()["G3"] == ("第3网格", "grid", "Z1", "dedicated", 350)  # households kept
    assert tree_errors() == []


# -- all or nothing, dry run ------------------------------------------------------------------


def test_area_import_all_or_nothing(county, tmp_path):
    good = [["G1", "改名网格", "网格", "CM1", "基础网格", 410]]  # a change to an existing row
    good += [[f"N{i:03d}", f"新网格{i}", "网格", "CM3", "基础网格", 300] for i in range(49)]
    bad = [["N999", "坏行", "网格", "NOPE", "", ""]]
    before, count = tree_snapshot(), Area.objects.count()

    with pytest.raises(ImportFailed) as excinfo:
        import_areas(csv_file(tmp_path, AREA_HEADERS, [*good[:30], *bad, *good[30:]]))

    assert len(good) == 50
    assert error_cells(excinfo.value.report.errors) == [(32, "D（上级编码）")]
    assert Area.objects.count() == count
    assert tree_snapshot() == before
    assert Area.objects.get(code="G1").name == "第1网格"
    assert not ImportRun.objects.exists()


def test_head_import_all_or_nothing(county, tmp_path):
    grids = ["G1", "G2", "G3", "G4", "G5", "G6"]
    good = [
        [grids[i % 6], "", "网格长", f"副网格长{i}", f"1370000{i:04d}", "是", "是", ""]
        for i in range(50)
    ]
    bad = [["G1", "", "网格长", "坏行", "1234", "", "", ""]]

    with pytest.raises(ImportFailed) as excinfo:
        import_heads(csv_file(tmp_path, HEAD_HEADERS, [*good, *bad]))

    assert error_cells(excinfo.value.report.errors) == [(52, "E（手机）")]
    assert not Post.objects.exists()
    assert not Person.objects.exists()
    assert not ImportRun.objects.exists()
    # The same 50 rows alone do go in: the bad row alone stopped them.
    assert import_heads(csv_file(tmp_path, HEAD_HEADERS, good, name="good.csv")).created == 50


def test_area_dry_run_writes_nothing_and_reports_like_the_real_run(county, tmp_path):
    rows = [
        ["G9", "第9网格", "网格", "CM2", "基础网格", 300],
        ["B9", "9栋", "楼栋", "G9", "", 40],
        ["G4", "第四网格", "网格", "CM2", "基础网格", 380],  # rename
        ["G2", "第2网格", "网格", "CM2", "专属网格", 320],  # move
        ["G6", "下坑村第1组", "网格", "V2", "基础网格", 120],  # unchanged
    ]
    path = csv_file(tmp_path, AREA_HEADERS, rows)
    before = tree_snapshot()

    dry = import_areas(path, dry_run=True)

    assert dry.dry_run is True
    assert tree_snapshot() == before
    assert not ImportRun.objects.exists()
    real = import_areas(path)
    assert counts(real) == (2, 2, 1)
    assert (counts(dry), dry.renumbered) == (counts(real), real.renumbered)
    assert real.renumbered > 0
    assert [p[1:3] for p in dry.preview] == [p[1:3] for p in real.preview]
    assert ImportRun.objects.get().created == 2
    assert tree_errors() == []


def test_head_dry_run_writes_nothing_and_reports_like_the_real_run(county, tmp_path):
    old = services.post_assign(
        area=county["G1"], title="grid_head", person=PersonFactory(), started_on=D(2022, 9, 1)
    )
    rows = [
        ["G1", "", "网格长", "王芳", "13800000001", "是", "否", "2024-03-01"],
        ["G1", "", "网格长", "李强", "13800000002", "是", "是", "2024-03-01"],
    ]
    path = csv_file(tmp_path, HEAD_HEADERS, rows)

    dry = import_heads(path, dry_run=True)

    assert Post.objects.get() == old
    assert Post.objects.get().ended_on is None
    assert Person.objects.count() == 1
    assert not ImportRun.objects.exists()
    real = import_heads(path)
    assert (counts(real), real.ended) == ((2, 0, 0), 1)
    assert (counts(dry), dry.ended) == (counts(real), real.ended)


# -- export and round trip --------------------------------------------------------------------


@pytest.fixture
def heads(county):
    """Principals, deputies, a hidden post and a person with several posts."""
    li, wang, zhao, qian = PersonFactory.create_batch(4)
    services.post_assign(area=county["G1"], title="grid_head", person=li, started_on=D(2022, 9, 1))
    services.post_assign(area=county["G1"], title="grid_head", person=wang, is_deputy=True)
    services.post_assign(area=county["G1"], title="grid_head", person=zhao, is_deputy=True)
    services.post_assign(area=county["B1"], title="building_head", person=li)
    services.post_assign(area=county["U1"], title="unit_head", person=qian, is_public=False)
    services.post_assign(area=county["CM1"], title="community_worker", person=zhao)
    services.post_assign(area=county["T1"], title="region_head", person=qian)
    return Post.objects.filter(ended_on__isnull=True).count()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_area_export_import_round_trip(county, tmp_path, fmt):
    path = tmp_path / f"areas.{fmt}"
    written = write_table(path, fmt, area_export_headers(), area_export_rows())
    before = tree_snapshot()

    report = import_areas(path)

    assert written == len(COUNTY_ROWS)
    assert counts(report) == (0, 0, len(COUNTY_ROWS))
    assert tree_snapshot() == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_area_export_alone_rebuilds_the_county(county, tmp_path, fmt):
    """Every parent an exported row names is in the export, with its kind: loaded under new
    codes, the file rebuilds the same county as new rows."""
    path = tmp_path / f"areas.{fmt}"
    write_table(path, fmt, area_export_headers(), area_export_rows())
    table = read_table(path)
    for _line, cells in table.rows:
        cells[0] = "N" + cells[0]
        cells[3] = "N" + cells[3] if cells[3] else ""

    report = areas_import(table=table)

    assert counts(report) == (len(COUNTY_ROWS), 0, 0)
    rebuilt = {code[1:]: v for code, v in logical_tree().items() if code.startswith("N")}
    assert {
        code: (name, kind, parent[1:], grid_type, households)
        for code, (name, kind, parent, grid_type, households) in rebuilt.items()
    } == COUNTY
    assert report.renumbered == 0  # the original county was left alone
    assert tree_errors() == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_head_export_import_round_trip(heads, tmp_path, fmt):
    path = tmp_path / f"heads.{fmt}"
    written = write_table(path, fmt, head_export_headers(), head_export_rows())
    posts_before = sorted(Post.objects.values_list("pk", "is_public", "is_deputy", "ended_on"))

    report = import_heads(path)

    assert written == heads == 7
    assert (counts(report), report.ended) == ((0, 0, heads), 0)
    assert sorted(Post.objects.values_list("pk", "is_public", "is_deputy", "ended_on")) == (
        posts_before
    )


FORMULAS = ['=HYPERLINK("http://example.com","点我")', "+1", "-x", "@SUM(A1:A2)"]


@pytest.fixture
def formula_areas(county):
    for i, name in enumerate(FORMULAS):
        services.area_create(code=f"F{i}", name=name, kind="grid", parent=county["CM3"])
    return {f"F{i}": name for i, name in enumerate(FORMULAS)}


def test_formula_cells_are_escaped_in_csv(formula_areas, tmp_path):
    path = tmp_path / "areas.csv"
    write_table(path, "csv", area_export_headers(), area_export_rows())

    cells = {row[0]: row[1] for row in csv.reader(io.StringIO(path.read_text("utf-8-sig")))}

    for code, name in formula_areas.items():
        assert cells[code] == "'" + name
    assert cells["G1"] == "第1网格"  # ordinary names are left alone


def test_formula_cells_are_text_in_xlsx(formula_areas, tmp_path):
    path = tmp_path / "areas.xlsx"
    write_table(path, "xlsx", area_export_headers(), area_export_rows())

    sheet = load_workbook(path).worksheets[0]
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}

    for code, name in formula_areas.items():
        assert cells[code].data_type == "s"
        assert cells[code].value == "'" + name
    assert cells["G1"].value == "第1网格"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_reimport_restores_formula_like_names(formula_areas, tmp_path, fmt):
    path = tmp_path / f"areas.{fmt}"
    write_table(path, fmt, area_export_headers(), area_export_rows())
    for code in formula_areas:
        services.area_update(area=Area.objects.get(code=code), name="改过的名字")

    report = import_areas(path)

    assert report.updated == len(formula_areas)
    assert {a.code: a.name for a in Area.objects.filter(code__in=formula_areas)} == formula_areas
    again = import_areas(path)
    assert counts(again) == (0, 0, len(COUNTY_ROWS) + len(formula_areas))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_name_starting_with_an_apostrophe_survives_the_round_trip(county, tmp_path, fmt):
    services.area_create(code="Q1", name="'=1", kind="grid", parent=county["CM3"])
    path = tmp_path / f"areas.{fmt}"
    write_table(path, fmt, area_export_headers(), area_export_rows())

    report = import_areas(path)

    assert Area.objects.get(code="Q1").name == "'=1"
    assert report.updated == 0


# -- heads ------------------------------------------------------------------------------------


def test_a_new_grid_head_ends_the_old_post(county, tmp_path):
    old_head = PersonFactory(name="老网格长")
    old = services.post_assign(
        area=county["G1"], title="grid_head", person=old_head, started_on=D(2022, 9, 1)
    )
    path = csv_file(
        tmp_path,
        HEAD_HEADERS,
        [["G1", "第1网格", "网格长", "新网格长", "13800000001", "", "", "2024-03-01"]],
    )

    report = import_heads(path)

    assert (counts(report), report.ended) == ((1, 0, 0), 1)
    old.refresh_from_db()
    assert old.ended_on == D(2024, 3, 1)
    (new,) = current_posts(county["G1"])
    assert (new.person.name, new.person.phone, new.started_on) == (
        "新网格长",
        "13800000001",
        D(2024, 3, 1),
    )
    assert Post.objects.filter(area=county["G1"], title="grid_head").count() == 2

    again = import_heads(path)

    assert (counts(again), again.ended) == ((0, 0, 1), 0)
    assert Post.objects.count() == 2
    assert Person.objects.count() == 2


def test_head_import_without_a_date_starts_today(county, tmp_path):
    path = csv_file(tmp_path, HEAD_HEADERS_EN, [["U1", "", "unit_head", "周一", "13800000011"]])

    import_heads(path)

    assert Post.objects.get().started_on == timezone.localdate()


def test_head_import_deputies_coexist(county, tmp_path):
    principal = services.post_assign(
        area=county["G2"], title="grid_head", person=PersonFactory(), started_on=D(2022, 9, 1)
    )
    rows = [
        ["G2", "", "网格长", "副甲", "13800000021", "是", "是", "2024-01-01"],
        ["G2", "", "网格长", "副乙", "13800000022", "否", "是", "2024-01-01"],
    ]
    path = xlsx_file(tmp_path, HEAD_HEADERS, rows)

    report = import_heads(path)

    assert (counts(report), report.ended) == ((2, 0, 0), 0)
    assert {(p.person.name, p.is_deputy, p.is_public) for p in current_posts(county["G2"])} == {
        (principal.person.name, False, True),
        ("副甲", True, True),
        ("副乙", True, False),
    }
    assert counts(import_heads(path)) == (0, 0, 2)


def test_head_import_reads_xlsx_dates_and_numeric_phones(county, tmp_path):
    rows = [["G1", "", "网格长", "王芳", 13800000001, "是", "否", dt.date(2024, 1, 2)]]

    import_heads(xlsx_file(tmp_path, HEAD_HEADERS, rows))

    post = Post.objects.get()
    assert (post.person.phone, post.started_on) == ("13800000001", D(2024, 1, 2))


def test_head_import_renames_a_person_by_phone(county, tmp_path):
    person = services.person_get_or_create(name="张三", phone="13800000031")
    post = services.post_assign(area=county["B1"], title="building_head", person=person)
    rows = [
        ["B1", "", "楼栋长", "张叁", "138 0000 0031", "", "", ""],
        ["U2", "", "单元长", "张叁", "+8613800000031", "", "", ""],
    ]

    report = import_heads(csv_file(tmp_path, HEAD_HEADERS, rows))

    assert counts(report) == (1, 1, 0)
    assert list(Person.objects.values_list("name", "phone")) == [("张叁", "13800000031")]
    assert Post.objects.get(pk=post.pk).ended_on is None
    assert {p.area.code for p in current_posts().filter(person=person)} == {"B1", "U2"}


def test_head_import_flag_changes_update_the_post(county, tmp_path):
    person = services.person_get_or_create(name="张三", phone="13800000031")
    post = services.post_assign(area=county["U1"], title="unit_head", person=person)

    report = import_heads(
        csv_file(
            tmp_path, HEAD_HEADERS, [["U1", "", "单元长", "张三", "13800000031", "否", "", ""]]
        )
    )

    assert counts(report) == (0, 1, 0)
    post.refresh_from_db()
    assert (post.is_public, post.ended_on) == (False, None)


def test_head_import_promotes_a_deputy(county, tmp_path):
    head, deputy = PersonFactory(), PersonFactory(name="副职", phone="13800000041")
    services.post_assign(
        area=county["G1"], title="grid_head", person=head, started_on=D(2022, 9, 1)
    )
    services.post_assign(
        area=county["G1"],
        title="grid_head",
        person=deputy,
        is_deputy=True,
        started_on=D(2022, 9, 1),
    )
    row = ["G1", "", "网格长", "副职", "13800000041", "", "否", "2024-03-01"]

    report = import_heads(csv_file(tmp_path, HEAD_HEADERS, [row]))

    assert report.ended == 1
    assert [(p.person, p.is_deputy) for p in current_posts(county["G1"])] == [(deputy, False)]


# Heads already in post before each hand-over case: a principal and a deputy on G1.
HAND_OVER_START = [
    ("G1", "grid_head", "老网格长", "13800000051", False, D(2022, 9, 1)),
    ("G1", "grid_head", "老副职", "13800000052", True, D(2022, 9, 1)),
]
# Rows as (area, title, name, phone, deputy, public, started on), in file order.
HAND_OVER_CASES = {
    "a new principal ends the holder's post": [
        ("G1", "grid_head", "新网格长", "13800000053", False, True, D(2024, 3, 1)),
    ],
    "a deputy promoted ends the holder's post": [
        ("G1", "grid_head", "老副职", "13800000052", False, True, D(2024, 3, 1)),
    ],
    "a new deputy ends nobody's post": [
        ("G1", "grid_head", "新副职", "13800000054", True, False, D(2024, 3, 1)),
    ],
    "the holder's flags change in place": [
        ("G1", "grid_head", "老网格长", "13800000051", False, False, D(2024, 3, 1)),
    ],
    "the holder becomes a deputy, then a new principal comes": [
        ("G1", "grid_head", "老网格长", "13800000051", True, True, D(2024, 3, 1)),
        ("G1", "grid_head", "新网格长", "13800000053", False, True, D(2024, 3, 1)),
    ],
    "a new principal comes, then the old one is named deputy": [
        ("G1", "grid_head", "新网格长", "13800000053", False, True, D(2024, 3, 1)),
        ("G1", "grid_head", "老网格长", "13800000051", True, True, D(2024, 4, 1)),
    ],
    "a principal on a post nobody holds": [
        ("G2", "grid_head", "新网格长", "13800000053", False, True, None),
    ],
}


def _posts_after(apply) -> list[tuple]:
    """The posts after ``apply()`` ran, rolled back again so the next path starts alike."""
    from django.db import transaction

    with transaction.atomic():
        apply()
        posts = sorted(
            Post.objects.values_list(
                "area__code",
                "title",
                "person__name",
                "person__phone",
                "is_deputy",
                "is_public",
                "started_on",
                "ended_on",
            )
        )
        transaction.set_rollback(True)
    return posts


@pytest.mark.parametrize("case", HAND_OVER_CASES)
def test_shape_heads_import_and_post_assign_hand_a_post_over_alike(county, case):
    for code, title, name, phone, deputy, started_on in HAND_OVER_START:
        services.post_assign(
            area=county[code],
            title=title,
            person=services.person_get_or_create(name=name, phone=phone),
            is_deputy=deputy,
            started_on=started_on,
        )
    rows = HAND_OVER_CASES[case]
    table = Table(
        headers=["区域编码", "职务", "姓名", "手机", "副职", "公示", "任职日期"],
        rows=[
            (
                line,
                [
                    code,
                    title,
                    name,
                    phone,
                    "是" if deputy else "否",
                    "是" if public else "否",
                    started_on.isoformat() if started_on else "",
                ],
            )
            for line, (code, title, name, phone, deputy, public, started_on) in enumerate(
                rows, start=2
            )
        ],
    )

    def one_by_one():
        for code, title, name, phone, deputy, public, started_on in rows:
            services.post_assign(
                area=county[code],
                title=title,
                person=services.person_get_or_create(name=name, phone=phone),
                is_deputy=deputy,
                is_public=public,
                started_on=started_on,
            )

    through_the_service = _posts_after(one_by_one)
    through_the_import = _posts_after(lambda: heads_import(table=table))

    assert through_the_import == through_the_service
    assert len(through_the_service) >= len(HAND_OVER_START)


def test_head_import_same_person_as_principal_and_deputy_is_a_cell_error(county, tmp_path):
    rows = [
        ["G1", "", "网格长", "王芳", "13800000001", "", "否", ""],
        ["G1", "", "网格长", "王芳", "13800000001", "", "是", ""],
    ]

    with pytest.raises(ImportFailed) as excinfo:
        import_heads(csv_file(tmp_path, HEAD_HEADERS, rows))

    assert [e.line for e in excinfo.value.report.errors] == [3]
    assert not Post.objects.exists()


# -- management commands ----------------------------------------------------------------------


def run(command, *args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *[str(a) for a in args], stdout=out, stderr=err, verbosity=0, **options)
    return out.getvalue(), err.getvalue()


def summary(target: str, rows: int, created=0, updated=0, unchanged=0) -> str:
    return ImportReport(
        target=target,
        dry_run=False,
        rows=rows,
        created=created,
        updated=updated,
        unchanged=unchanged,
    ).summary()


def test_import_areas_command(db, tmp_path):
    path = xlsx_file(tmp_path, AREA_HEADERS, county_rows_zh())

    out, _ = run("import_areas", path)

    assert summary("areas", 25, created=25) in out
    assert str(path) in out
    assert logical_tree() == COUNTY
    assert tree_errors() == []
    assert ImportRun.objects.get().source == "upload.xlsx"


def test_import_areas_command_with_a_bad_file(db, tmp_path):
    rows = [*GOOD_AREA_ROWS, ["G9", "第9网格", "网格区", "CM1", "", ""], ["G8", "", "网格", "NOPE"]]
    path = csv_file(tmp_path, AREA_HEADERS, rows)
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_areas", str(path), stdout=out, stderr=err, verbosity=0)

    lines = err.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{path}: {cell_prefix(8, 'C（类型）')}")
    assert lines[1].startswith(f"{path}: {cell_prefix(9, 'B（名称）')}")
    assert lines[2].startswith(f"{path}: {cell_prefix(9, 'D（上级编码）')}")
    assert "NOPE" in lines[2]
    assert not Area.objects.exists()
    assert not ImportRun.objects.exists()


def test_import_areas_command_with_a_bad_header(db, tmp_path):
    path = csv_file(tmp_path, ["编码", "名称", "类别", "上级编码"], [["C", "抚阳市", "市", ""]])
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_areas", str(path), stdout=io.StringIO(), stderr=err, verbosity=0)

    assert cell_prefix(1, "C（类别）") in err.getvalue()
    assert not Area.objects.exists()


def test_import_command_refuses_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError):
        run("import_areas", tmp_path / "nowhere.csv")


def test_import_areas_command_dry_run(county, tmp_path):
    path = csv_file(tmp_path, AREA_HEADERS, county_rows_zh())
    before = tree_snapshot()

    out, _ = run("import_areas", path, "--dry-run")

    assert summary("areas", 25, unchanged=len(county)) in out
    assert tree_snapshot() == before
    assert not ImportRun.objects.exists()
    rows = [["G9", "第9网格", "网格", "CM1", "", ""]]
    out, _ = run(
        "import_areas", csv_file(tmp_path, AREA_HEADERS, rows, name="new.csv"), "--dry-run"
    )
    assert summary("areas", 1, created=1) in out
    assert not Area.objects.filter(code="G9").exists()


def test_import_heads_command(county, tmp_path):
    path = csv_file(tmp_path, HEAD_HEADERS, GOOD_HEAD_ROWS, encoding="gbk")

    out, _ = run("import_heads", path)

    assert summary("heads", 2, created=2) in out
    assert "gbk" in out
    assert Post.objects.count() == 2


def test_import_heads_command_with_a_bad_file(county, tmp_path):
    rows = [*GOOD_HEAD_ROWS, ["G2", "", "网格长", "赵六", "12345", "", "", ""]]
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import_heads",
            str(csv_file(tmp_path, HEAD_HEADERS, rows)),
            stderr=err,
            stdout=io.StringIO(),
        )

    assert cell_prefix(4, "E（手机）") in err.getvalue()
    assert not Post.objects.exists()


def test_import_heads_command_dry_run(county, tmp_path):
    out, _ = run("import_heads", csv_file(tmp_path, HEAD_HEADERS, GOOD_HEAD_ROWS), "--dry-run")

    assert summary("heads", 2, created=2) in out
    assert not Post.objects.exists()
    assert not Person.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_commands_write_files_that_reimport_unchanged(heads, tmp_path, fmt):
    areas_path, heads_path = tmp_path / f"areas.{fmt}", tmp_path / f"heads.{fmt}"

    out_areas, _ = run("export_areas", areas_path)
    out_heads, _ = run("export_heads", heads_path)

    assert f"{len(COUNTY_ROWS)} " in out_areas and str(areas_path) in out_areas
    assert f"{heads} " in out_heads and str(heads_path) in out_heads
    before = tree_snapshot()
    out, _ = run("import_areas", areas_path)
    assert summary("areas", len(COUNTY_ROWS), unchanged=len(COUNTY_ROWS)) in out
    out, _ = run("import_heads", heads_path)
    assert summary("heads", heads, unchanged=heads) in out
    assert tree_snapshot() == before
    assert Post.objects.count() == heads


def test_export_command_format_option(county, tmp_path):
    path = tmp_path / "areas.dat"

    run("export_areas", path, "--format", "xlsx")

    book = load_workbook(io.BytesIO(path.read_bytes()))
    assert book.worksheets[0]["A1"].value == "编码"


# -- query counts -----------------------------------------------------------------------------


def grid_rows(prefix: str, parent: str, n: int) -> Table:
    rows = [[f"{prefix}{i:04d}", f"网格{i}", "网格", parent, "基础网格", "300"] for i in range(n)]
    return Table(headers=AREA_HEADERS, rows=[(i + 2, r) for i, r in enumerate(rows)])


def test_area_import_queries_do_not_grow_with_the_file(county):
    # Same shape twice, in two districts: new grids appended under a village.
    with CaptureQueriesContext(connection) as small:
        assert areas_import(table=grid_rows("S", "CM3", 50)).created == 50
    with CaptureQueriesContext(connection) as large:
        assert areas_import(table=grid_rows("L", "V2", 500)).created == 500

    assert len(small) - insert_batches(Area, 50) == len(large) - insert_batches(Area, 500)
    assert statements(small)["UPDATE"] == statements(large)["UPDATE"]
    assert tree_errors() == []


def head_rows(codes: list[str], phone_base: int) -> Table:
    rows = [
        [code, "", "网格长", f"网格长{i}", f"1{phone_base + i:010d}", "", "", "2024-01-01"]
        for i, code in enumerate(codes)
    ]
    return Table(headers=HEAD_HEADERS, rows=[(i + 2, r) for i, r in enumerate(rows)])


def test_head_import_queries_do_not_grow_with_the_file(county):
    areas_import(table=grid_rows("S", "CM3", 50))
    areas_import(table=grid_rows("L", "V2", 500))
    small_codes = [f"S{i:04d}" for i in range(50)]
    large_codes = [f"L{i:04d}" for i in range(500)]
    # A few of each size already have a principal who is replaced, and a person renamed.
    for code in (*small_codes[:3], *large_codes[:3]):
        services.post_assign(
            area=Area.objects.get(code=code), title="grid_head", person=PersonFactory()
        )

    with CaptureQueriesContext(connection) as small:
        assert heads_import(table=head_rows(small_codes, 3800000000)).created == 50
    with CaptureQueriesContext(connection) as large:
        assert heads_import(table=head_rows(large_codes, 3810000000)).created == 500

    assert len(small) - insert_batches(Person, 50) - insert_batches(Post, 50) == (
        len(large) - insert_batches(Person, 500) - insert_batches(Post, 500)
    )
    assert Post.objects.filter(ended_on__isnull=False).count() == 6


# -- issue 9, point 8: every export escapes formulas; point 4: the commands' limit flags -------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_point8_area_and_head_exports_escape_every_payload_and_reimport_unchanged(
    county, tmp_path, fmt
):
    from tests.spreadsheet_checks import FORMULA_PAYLOADS, assert_no_formula

    for i, payload in enumerate(FORMULA_PAYLOADS):
        grid = services.area_create(code=f"F{i}", name=payload, kind="grid", parent=county["CM3"])
        person = PersonFactory(name=payload[:50])
        services.post_assign(area=grid, title="grid_head", person=person)
    names = dict(Area.objects.values_list("code", "name"))
    people = sorted(Person.objects.values_list("phone", "name"))
    areas_path, heads_path = tmp_path / f"areas.{fmt}", tmp_path / f"heads.{fmt}"
    run("export_areas", areas_path)
    run("export_heads", heads_path)

    for path in (areas_path, heads_path):
        assert assert_no_formula(path.read_bytes(), fmt) >= len(FORMULA_PAYLOADS)
    assert counts(import_areas(areas_path)) == (0, 0, len(names))
    assert counts(import_heads(heads_path)) == (0, 0, len(FORMULA_PAYLOADS))
    assert dict(Area.objects.values_list("code", "name")) == names
    assert sorted(Person.objects.values_list("phone", "name")) == people


def test_point8_admin_area_and_head_exports_escape_every_payload(county, client):
    from tests.spreadsheet_checks import FORMULA_PAYLOADS, assert_no_formula

    for i, payload in enumerate(FORMULA_PAYLOADS):
        grid = services.area_create(code=f"F{i}", name=payload, kind="grid", parent=county["CM3"])
        services.post_assign(area=grid, title="grid_head", person=PersonFactory(name=payload))
    admin = get_user_model().objects.create_superuser("root", "r@example.org", "pw-for-tests-1")
    client.force_login(admin)
    for model in ("area", "post"):
        for fmt in ("csv", "xlsx"):
            response = client.get(reverse(f"admin:grids_{model}_export"), {"format": fmt})
            assert response.status_code == 200
            assert assert_no_formula(response.content, fmt) >= len(FORMULA_PAYLOADS)


def test_point4_import_command_limit_flags(county, tmp_path):
    path = csv_file(tmp_path, AREA_HEADERS, county_rows_zh(), name="county.csv")
    with pytest.raises(CommandError):
        run("import_areas", path, "--dry-run", "--max-rows", "3")
    out, _ = run("import_areas", path, "--dry-run", "--max-mb", "1")
    assert "areas" in out


def test_shape_area_and_head_imports_read_length_limits_from_the_models(
    county, tmp_path, monkeypatch
):
    name_max = Area._meta.get_field("name").max_length
    path = csv_file(tmp_path, AREA_HEADERS, [["G9", "名" * (name_max + 1), "网格", "CM1", "", ""]])
    with pytest.raises(ImportFailed) as excinfo:
        import_areas(path)
    (error,) = excinfo.value.report.errors
    assert error.message == gettext("the name is longer than %(max)s characters") % {
        "max": name_max
    }

    # A limit changed in the model is the import's (and the service's) limit at once.
    monkeypatch.setattr(Area._meta.get_field("name"), "max_length", 3)
    monkeypatch.setattr(Person._meta.get_field("name"), "max_length", 2)
    path = csv_file(tmp_path, AREA_HEADERS, [["G9", "第9网格", "网格", "CM1", "", ""]])
    with pytest.raises(ImportFailed) as excinfo:
        import_areas(path)
    assert [e.message for e in excinfo.value.report.errors] == [
        gettext("the name is longer than %(max)s characters") % {"max": 3}
    ]
    with pytest.raises(ValidationError) as refused:
        services.area_create(code="G9", name="第9网格", kind="grid", parent=county["CM1"])
    assert refused.value.message_dict["name"] == [
        gettext("the name is longer than %(max)s characters") % {"max": 3}
    ]
    path = csv_file(
        tmp_path, HEAD_HEADERS, [["G1", "", "网格长", "王小明", "13800000061", "", "", ""]]
    )
    with pytest.raises(ImportFailed) as excinfo:
        import_heads(path)
    assert [e.message for e in excinfo.value.report.errors] == [
        gettext("the person's name is longer than %(max)s characters") % {"max": 2}
    ]
    assert not Area.objects.filter(code="G9").exists() and not Post.objects.exists()
