"""Formula-injection payloads and the check every export is held to (issue 9, point 8;
issue 15: every export, tests/exports/test_formula_injection.py)."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

# Each is something a spreadsheet would run (or read as a number) if written as it is.
FORMULA_PAYLOADS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1)",
    "==1+1",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(1)",
    '=HYPERLINK("http://x")',
    "=cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "'=1+1",
    '=DDE("cmd";"/C calc";"!A0")',
    "@cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0",
    " =1+1",
    "\u3000=1+1",
    '=IMPORTXML("http://x","//a")',  # a name field may hold 40 characters
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
BLANKS = " \u3000"  # looked through before a trigger, as the escaping rule does


def cells_of(content: bytes, fmt: str) -> list[list]:
    """Every cell of the first sheet; for XLSX the openpyxl cells themselves."""
    if fmt == "csv":
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows()]


def assert_no_formula(content: bytes, fmt: str) -> int:
    """No text cell starts with a trigger, no XLSX cell is a formula. Returns the number of
    escaped cells seen (so a test can check its payloads were there)."""
    escaped = 0
    for row in cells_of(content, fmt):
        for cell in row:
            if fmt == "xlsx":
                assert cell.data_type != "f", cell.value
                value = cell.value
            else:
                value = cell
            if isinstance(value, str):
                assert not value.lstrip(BLANKS).startswith(TRIGGERS), repr(value)
                escaped += value.startswith("'")
    return escaped
