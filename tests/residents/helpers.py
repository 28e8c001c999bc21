"""ID numbers and resident spreadsheets for the residents tests.

The check digit is computed here from the GB 11643-1999 definition (weights 2^(17-i) mod 11,
check = (12 - sum mod 11) mod 11, 10 written X), not taken from ``residents.identity``, so
a mistake there cannot hide in the tests.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Sequence

from django.db import connection
from openpyxl import Workbook

from core.spreadsheets import Table, read_table

# Positions 1..17 counted from the left; position i carries weight 2^(18-i) mod 11.
GB11643_WEIGHTS = tuple(pow(2, 18 - i, 11) for i in range(1, 18))

HEADERS_ZH = [
    "区域编码",
    "房号",
    "地址",
    "户在群",
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "手机",
    "户主",
    "关怀标签",
]
HEADERS_EN = [
    "area_code",
    "door",
    "address",
    "in_online_group",
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "is_householder",
    "care_tags",
]
# The column each field lands in with HEADERS_ZH, as the importer names it in errors.
COL = {key: f"{chr(65 + i)}（{HEADERS_ZH[i]}）" for i, key in enumerate(HEADERS_EN)}


def check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, GB11643_WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(serial: int, birth: str = "19900101", male: bool = True, region: str = "369921"):
    """A valid ID number; ``serial`` picks the sequence digits (kept odd/even for gender)."""
    seq = f"{(serial * 2 + (1 if male else 0)) % 1000:03d}"
    body = f"{region}{birth}{seq}"
    return body + check_digit(body)


def id_ending_in_x(start: int = 1, birth: str = "19900101") -> str:
    """The first valid ID number from ``start`` on whose check digit is X."""
    for serial in range(start, start + 500):
        number = make_id(serial, birth)
        if number.endswith("X"):
            return number
    raise AssertionError("no X check digit in 500 tries")  # pragma: no cover


def wrong_check(id_number: str) -> str:
    """The same ID number with a check digit that is not the right one."""
    right = id_number[-1]
    return id_number[:-1] + ("1" if right != "1" else "2")


def mobile(n: int) -> str:
    return f"1580000{n:04d}"


def row(
    area_code: str,
    door: str,
    name: str,
    id_number: str,
    *,
    address: str = "",
    in_group: str = "",
    gender: str = "",
    birth: str = "",
    phone: str = "",
    householder: str = "",
    tags: str = "",
) -> list[str]:
    """One row in HEADERS_ZH order."""
    return [
        area_code,
        door,
        address,
        in_group,
        name,
        gender,
        birth,
        id_number,
        phone,
        householder,
        tags,
    ]


def csv_bytes(rows: Sequence[Sequence], headers=HEADERS_ZH, encoding: str = "utf-8-sig") -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence], headers=HEADERS_ZH) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for values in rows:
        sheet.append(list(values))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table(rows, headers=HEADERS_ZH, encoding: str = "utf-8-sig") -> Table:
    return read_table(io.BytesIO(csv_bytes(rows, headers, encoding)), name="residents.csv")


def cells(errors) -> list[tuple[int, str]]:
    return [(e.line, e.column) for e in errors]


def statements(captured) -> Counter:
    """How many statements of each kind (SELECT, INSERT, UPDATE …) a capture holds."""
    return Counter(q["sql"].lstrip().split(None, 1)[0].upper() for q in captured.captured_queries)


def insert_batches(model, count: int) -> int:
    """INSERT statements Django itself needs to bulk_create ``count`` rows of ``model``:
    one on PostgreSQL, more on SQLite, which caps a statement at 999 parameters."""
    if count == 0:
        return 0
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return math.ceil(count / connection.ops.bulk_batch_size(fields, [None] * count))


def xlsx_text(data: bytes) -> str:
    """Every cell of every sheet of an XLSX file, as one string."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    try:
        return "\n".join(
            "\t".join("" if v is None else str(v) for v in values)
            for sheet in book.worksheets
            for values in sheet.iter_rows(values_only=True)
        )
    finally:
        book.close()


def xlsx_rows(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    try:
        return [list(values) for values in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
