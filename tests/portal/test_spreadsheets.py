"""The spreadsheet reader's limits and cell checks, and the one formula-escaping rule."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from openpyxl import Workbook

from core.spreadsheets import ReadLimits, SpreadsheetError, read_table, write_table
from tests.spreadsheet_checks import FORMULA_PAYLOADS, assert_no_formula


class CountingFile(io.BytesIO):
    """A file that counts the bytes read from it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def read1(self, size=-1):
        data = super().read1(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, b):
        n = super().readinto(b)
        self.bytes_read += n
        return n


def _csv(rows: list[list[str]]) -> bytes:
    return "".join(",".join(r) + "\n" for r in rows).encode()


def _error(exc_info) -> str:
    return "\n".join(str(e) for e in exc_info.value.errors)


def _xlsx(rows, **cells) -> bytes:
    book = Workbook()
    sheet = book.active
    for r in rows:
        sheet.append(r)
    for ref, value in cells.items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_point4_oversized_csv_is_refused_before_it_is_read(settings):
    settings.SPREADSHEET_MAX_UPLOAD_BYTES = 1024 * 1024
    source = CountingFile(_csv([["编码", "名称"]] + [["A", "x" * 100]] * 20_000))

    with pytest.raises(SpreadsheetError) as exc_info:
        read_table(source, name="big.csv")

    assert source.bytes_read == 0
    message = _error(exc_info)
    assert "1.0 MB" in message and f"{len(source.getvalue()) / 1024 / 1024:.1f} MB" in message


def test_point4_too_many_rows_stops_reading_at_the_limit(settings):
    settings.SPREADSHEET_MAX_ROWS = 100
    data = _csv([["编码", "名称"]] + [[f"A{i}", "名"] for i in range(100_000)])
    source = CountingFile(data)

    with pytest.raises(SpreadsheetError) as exc_info:
        read_table(source, name="rows.csv")

    assert "100" in _error(exc_info) and "102" in _error(exc_info)  # the line it stopped at
    # The encoding check goes over the file once; the rows were not all read a second time.
    assert source.bytes_read < 2 * len(data) - len(data) // 2
    settings.SPREADSHEET_MAX_ROWS = 100_000
    assert len(read_table(io.BytesIO(data), name="rows.csv").rows) == 100_000


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_point4_too_many_columns(settings, fmt):
    settings.SPREADSHEET_MAX_COLUMNS = 50
    rows = [["编码", "名称"], ["A"] + ["x"] * 59]
    data = _csv(rows) if fmt == "csv" else _xlsx(rows)
    with pytest.raises(SpreadsheetError) as exc_info:
        read_table(io.BytesIO(data), name=f"wide.{fmt}")
    assert "60" in _error(exc_info) and "50" in _error(exc_info)


def test_point4_one_far_xlsx_cell_is_too_many_columns_not_16384_empty_cells():
    data = _xlsx([["编码", "名称"], ["A", "x"]], XFD2="far")
    with pytest.raises(SpreadsheetError) as exc_info:
        read_table(io.BytesIO(data), name="wide.xlsx")
    assert "16384" in _error(exc_info)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_point4_too_long_cell_is_a_cell_error(settings, fmt):
    settings.SPREADSHEET_MAX_CELL_CHARS = 1000
    rows = [["编码", "名称"], ["A", "名" * 1001]]
    data = _csv(rows) if fmt == "csv" else _xlsx(rows)
    with pytest.raises(SpreadsheetError) as exc_info:
        read_table(io.BytesIO(data), name=f"long.{fmt}")
    (error,) = exc_info.value.errors
    assert (error.line, error.column) == (2, "B（名称）")
    assert "1001" in error.message and "1000" in error.message


def _bomb(member_bytes: int) -> bytes:
    """A valid workbook plus one member of spaces: small on disk, large unpacked."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(_xlsx([["编码", "名称"], ["A", "x"]]))) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("xl/bomb.xml", b" " * member_bytes)
    return out.getvalue()


@pytest.mark.parametrize(
    "limit, member, expected",
    [
        ("SPREADSHEET_MAX_UNPACKED_BYTES", 25 * 1024 * 1024, "20.0 MB"),
        ("SPREADSHEET_MAX_ZIP_RATIO", 12 * 1024 * 1024, "100"),
    ],
)
def test_point4_zip_bomb_xlsx_is_refused_before_openpyxl_opens_it(
    settings, monkeypatch, limit, member, expected
):
    settings.SPREADSHEET_MAX_UNPACKED_BYTES = 20 * 1024 * 1024
    settings.SPREADSHEET_MAX_ZIP_RATIO = 100
    data = _bomb(member)
    assert len(data) < 100_000

    def never(*args, **kwargs):
        raise AssertionError("openpyxl opened the bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(SpreadsheetError) as exc_info:
        read_table(io.BytesIO(data), name="bomb.xlsx")
    assert "MB" in _error(exc_info) and expected in _error(exc_info)


def test_point4_command_line_limits_have_no_size_or_row_limit(settings):
    settings.SPREADSHEET_MAX_ROWS = 10
    data = _csv([["编码", "名称"]] + [[f"A{i}", "名"] for i in range(50)])
    assert len(read_table(io.BytesIO(data), name="x.csv", limits=ReadLimits.command_line()).rows)
    with pytest.raises(SpreadsheetError):
        read_table(io.BytesIO(data), name="x.csv")


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x0b", "\x7f", "\x85"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_point5_control_characters_are_cell_errors_with_line_and_column(fmt, char):
    rows = [["编码", "名称", "类型"], ["A", "好", "网格"], ["B", f"坏{char}名", "网格"]]
    if fmt == "csv":
        data = _csv(rows)
    else:
        # openpyxl refuses to write them: put the OOXML escape Excel would write.
        rows[2][1] = f"坏_x{ord(char):04X}_名"
        data = _xlsx(rows)
    with pytest.raises(SpreadsheetError) as exc_info:
        read_table(io.BytesIO(data), name=f"ctl.{fmt}")
    (error,) = exc_info.value.errors
    assert (error.line, error.column) == (3, "B（名称）")
    assert f"U+{ord(char):04X}" in error.message


def test_point5_tab_and_line_breaks_inside_a_cell_are_kept():
    data = _csv([["编码", "地址"], ["A", '"1栋\n2单元\t3室"']])
    assert read_table(io.BytesIO(data), name="x.csv").rows == [(2, ["A", "1栋\n2单元\t3室"])]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_point8_every_payload_is_escaped_and_reads_back_unchanged(fmt):
    out = io.BytesIO()
    write_table(out, fmt, ["编码", "=名称"], [[str(i), p] for i, p in enumerate(FORMULA_PAYLOADS)])

    assert assert_no_formula(out.getvalue(), fmt) == len(FORMULA_PAYLOADS) + 1  # header too
    table = read_table(io.BytesIO(out.getvalue()), name=f"x.{fmt}")
    assert table.headers == ["编码", "=名称"]
    assert [cells[1] for _line, cells in table.rows] == FORMULA_PAYLOADS


def test_a_bad_byte_position_is_exact_across_chunks():
    data = "编码,名称\n".encode() + b"a" * (1024 * 1024 + 5) + b"\xff\xff\n"
    with pytest.raises(SpreadsheetError) as exc_info:
        read_table(io.BytesIO(data), name="x.csv")
    assert "GBK" in _error(exc_info) or "byte" in _error(exc_info)


# --- codes stored as numbers (issue 15, point 5) -------------------------------------------

AREA_HEADER = ["编码", "名称", "类型", "上级编码"]
RESIDENT_HEADER = ["区域编码", "房号", "姓名", "身份证号", "手机"]


def _columns_error(content: bytes, name: str, columns, language: str = "en") -> list:
    from django.utils import translation

    from core.spreadsheets import map_columns

    table = read_table(io.BytesIO(content), name=name)
    with translation.override(language), pytest.raises(SpreadsheetError) as caught:
        map_columns(table, columns)
    return caught.value.errors


def test_point5_area_codes_stored_as_numbers_are_refused_with_what_to_do():
    from grids.imports.columns import AREA_COLUMNS

    # What Excel keeps of 18-digit grid codes typed into a General column: 15 significant
    # digits, read back as floats that all collide.
    rows = [
        AREA_HEADER,
        ["110101001001", "东华门街道", "街道", ""],
        [1.10101001001001e17, "一网格", "网格", "110101001001"],
        [1.10101001001001e17, "二网格", "网格", "110101001001"],
    ]
    errors = _columns_error(_xlsx(rows), "areas.xlsx", AREA_COLUMNS)

    assert len(errors) == 1  # one error for the column, not one duplicate per row
    (error,) = errors
    assert (error.line, error.column) == (3, "A（编码）")
    assert "this column lost digits; format it as text" in error.message
    assert "“Sheet”" in error.message and "2 cells" in error.message


def test_point5_a_whole_int_code_cell_is_refused_too_and_each_column_is_named():
    from grids.imports.columns import AREA_COLUMNS

    rows = [AREA_HEADER, ["S1", "街道", "街道", ""], ["C1", "社区", "社区", 110101001001]]
    (error,) = _columns_error(_xlsx(rows), "areas.xlsx", AREA_COLUMNS)
    assert (error.line, error.column) == (3, "D（上级编码）")
    assert "“110101001001”" in error.message


def test_point5_id_numbers_and_a_landline_stored_as_numbers_are_refused():
    from residents.imports.columns import RESIDENT_EXPORT_COLUMNS

    rows = [
        RESIDENT_HEADER,
        ["U1", "101", "甲", 110105194912310000, 13800138000],  # a whole mobile is read
        ["U1", "102", "乙", "11010519491231002X", 57188888888],  # a landline lost its 0
    ]
    errors = _columns_error(_xlsx(rows), "residents.xlsx", RESIDENT_EXPORT_COLUMNS)
    assert [(e.line, e.column) for e in errors] == [(2, "D（身份证号）"), (3, "E（手机）")]
    assert all("this column lost digits" in e.message for e in errors)


def test_point5_a_whole_mobile_stored_as_a_number_is_read():
    from core.spreadsheets import map_columns
    from residents.imports.columns import RESIDENT_EXPORT_COLUMNS

    rows = [RESIDENT_HEADER, ["U1", 101, "甲", "11010519491231002X", 13800138000]]
    table = read_table(io.BytesIO(_xlsx(rows)), name="residents.xlsx")
    cols = map_columns(table, RESIDENT_EXPORT_COLUMNS)  # a door number may be a number
    assert cols.get(table.rows[0][1], "phone") == "13800138000"


def test_point5_scientific_notation_in_a_csv_is_refused():
    from grids.imports.columns import AREA_COLUMNS

    content = _csv([AREA_HEADER, ["1.10101E+11", "社区", "社区", ""], ["S1", "街", "街道", ""]])
    (error,) = _columns_error(content, "areas.csv", AREA_COLUMNS)
    assert (error.line, error.column) == (2, "A（编码）")
    assert "1 cells written as numbers" in error.message and "1.10101E+11" in error.message


def test_point5_text_codes_are_read_as_they_are():
    from core.spreadsheets import map_columns
    from grids.imports.columns import AREA_COLUMNS

    rows = [AREA_HEADER, ["110101001001001001", "网格", "网格", "110101001001"]]
    table = read_table(io.BytesIO(_xlsx(rows)), name="areas.xlsx")
    cols = map_columns(table, AREA_COLUMNS)
    assert cols.get(table.rows[0][1], "code") == "110101001001001001"
    assert table.sheet == "Sheet" and not table.numbers


def test_point5_the_message_is_translated():

    from grids.imports.columns import AREA_COLUMNS

    rows = [AREA_HEADER, [110101001001, "社区", "社区", ""]]
    (error,) = _columns_error(_xlsx(rows), "areas.xlsx", AREA_COLUMNS, language="zh-hans")
    assert "this column lost digits" not in error.message
    assert "文本" in error.message


@pytest.mark.django_db
def test_point5_the_area_import_reports_lost_digits_not_duplicate_codes():
    from django.utils import translation

    from grids.imports import areas_import
    from grids.models import Area

    rows = [
        AREA_HEADER,
        ["110101001", "东华门街道", "街道", ""],
        [1.10101001001001e17, "一网格", "网格", "110101001"],
        [1.10101001001001e17, "二网格", "网格", "110101001"],
    ]
    table = read_table(io.BytesIO(_xlsx(rows)), name="areas.xlsx")
    with translation.override("en"), pytest.raises(SpreadsheetError) as caught:
        areas_import(table=table)
    with translation.override("en"):
        messages = [str(e) for e in caught.value.errors]
    assert len(messages) == 1 and "this column lost digits" in messages[0]
    assert "twice" not in messages[0] and "duplicate" not in messages[0]
    assert not Area.objects.exists()


def test_point5_the_resident_import_reports_lost_id_digits(world):
    from residents.imports import residents_import
    from residents.models import Resident

    before = Resident.objects.count()
    rows = [
        RESIDENT_HEADER,
        [world.u1.code, "901", "甲", 369921198001010000, ""],
        [world.u1.code, "902", "乙", 369921198001010000, ""],
    ]
    table = read_table(io.BytesIO(_xlsx(rows)), name="residents.xlsx")
    with pytest.raises(SpreadsheetError) as caught:
        residents_import(table=table)
    assert [(e.line, e.column) for e in caught.value.errors] == [(2, "D（身份证号）")]
    assert Resident.objects.count() == before
