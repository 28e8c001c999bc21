"""Reading and writing the spreadsheets admins exchange with the portal.

Excel writes CSV as UTF-8, UTF-8 with a BOM or GBK depending on version and settings, and
XLSX. We detect which, keep each row's line number for error messages, map Chinese or
English headers onto field keys, and on the way out escape text cells that a spreadsheet
would otherwise execute as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.utils.translation import gettext as _

FORMATS = ("csv", "xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CellError:
    """One problem with one cell (or one row when ``column`` is empty)."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("line %(line)s, column %(column)s: %(message)s") % {
                "line": self.line,
                "column": self.column,
                "message": self.message,
            }
        if self.line:
            return _("line %(line)s: %(message)s") % {"line": self.line, "message": self.message}
        return self.message


class SpreadsheetError(Exception):
    """The file as a whole cannot be read or its header row is wrong. Nothing was written."""

    def __init__(self, errors: Sequence[CellError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, cell texts)
    encoding: str = ""
    fmt: str = "csv"


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the Chinese header we write
    aliases: tuple[str, ...] = ()
    required: bool = True

    def names(self) -> set[str]:
        return {_norm(n) for n in (self.key, self.label, *self.aliases)}


@dataclass
class ColumnMap:
    index: dict[str, int] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)

    def label(self, key: str) -> str:
        """How an error names a column: its letter and its header, e.g. ``C（类型）``."""
        i = self.index[key]
        return f"{column_letter(i)}（{self.headers[i]}）"

    def get(self, cells: list[str], key: str) -> str:
        i = self.index.get(key)
        if i is None or i >= len(cells):
            return ""
        return cells[i]


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "").replace("_", "")


def detect_format(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt", ""):
        return "csv"
    raise SpreadsheetError(
        [
            CellError(
                0,
                "",
                _("unsupported file type “%(suffix)s” (use .csv or .xlsx)") % {"suffix": suffix},
            )
        ]
    )


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """Return (text, encoding). UTF-8 with BOM, then UTF-8, then GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as exc:
        raise SpreadsheetError(
            [
                CellError(
                    0,
                    "",
                    _("the file is neither UTF-8 nor GBK text (byte %(pos)s)") % {"pos": exc.start},
                )
            ]
        ) from None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _needs_escape(text: str) -> bool:
    """Starts with a formula character, possibly behind apostrophes of its own: ``=1`` and
    ``'=1`` are both escaped, so that ``unescape_cell`` can always strip exactly one."""
    return text.lstrip("'").startswith(_FORMULA_START)


def unescape_cell(text: str) -> str:
    """Undo our own formula escaping so that an export imports back unchanged."""
    if text.startswith("'") and _needs_escape(text[1:]):
        return text[1:]
    return text


def escape_cell(value):
    if isinstance(value, str) and _needs_escape(value):
        return "'" + value
    return value


def read_table(source: str | Path | IO[bytes], name: str | None = None) -> Table:
    """Read the first sheet of an XLSX or a CSV file. Blank rows are skipped."""
    if isinstance(source, str | Path):
        name = name or str(source)
        with open(source, "rb") as fh:
            data = fh.read()
    else:
        data = source.read()
    fmt = detect_format(name or "")
    if fmt == "xlsx":
        rows_iter, encoding = _xlsx_rows(data), ""
    else:
        text, encoding = decode_csv_bytes(data)
        rows_iter = _csv_rows(text)
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for line, cells in rows_iter:
        if not any(cells):
            continue
        if headers is None:
            headers = [c.strip().lstrip("\ufeff") for c in cells]
            continue
        rows.append((line, [unescape_cell(c) for c in cells]))
    if headers is None:
        raise SpreadsheetError([CellError(1, "", _("the file is empty: no header row"))])
    return Table(headers=headers, rows=rows, encoding=encoding, fmt=fmt)


def _csv_rows(text: str) -> Iterable[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for cells in reader:
            yield start, [c.strip() for c in cells]
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SpreadsheetError(
            [CellError(start, "", _("unreadable CSV: %(error)s") % {"error": exc})]
        ) from None


def _xlsx_rows(data: bytes) -> Iterable[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises a zoo of types for a broken file
        raise SpreadsheetError(
            [CellError(0, "", _("not a readable XLSX file: %(error)s") % {"error": exc})]
        ) from None
    try:
        sheet = book.worksheets[0]
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_cell_text(v) for v in values]
    finally:
        book.close()


def map_columns(table: Table, columns: Sequence[Column]) -> ColumnMap:
    """Match the header row to ``columns`` (Chinese or English names, any order)."""
    errors: list[CellError] = []
    mapping = ColumnMap(headers=table.headers)
    by_name = {n: col for col in columns for n in col.names()}
    for i, header in enumerate(table.headers):
        if not header:
            continue
        col = by_name.get(_norm(header))
        if col is None:
            errors.append(
                CellError(
                    1,
                    f"{column_letter(i)}（{header}）",
                    _("unknown column; expected one of: %(names)s")
                    % {"names": "、".join(c.label for c in columns)},
                )
            )
        elif col.key in mapping.index:
            errors.append(
                CellError(
                    1,
                    f"{column_letter(i)}（{header}）",
                    _("column “%(label)s” appears twice") % {"label": col.label},
                )
            )
        else:
            mapping.index[col.key] = i
    for col in columns:
        if col.required and col.key not in mapping.index:
            errors.append(
                CellError(
                    1,
                    "",
                    _("required column “%(label)s” (%(key)s) is missing")
                    % {"label": col.label, "key": col.key},
                )
            )
    if errors:
        raise SpreadsheetError(errors)
    return mapping


def write_table(
    target: str | Path | IO[bytes],
    fmt: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
) -> int:
    """Write a header row and ``rows``; returns the number of data rows written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    count = 0
    stream = open(target, "wb") if isinstance(target, str | Path) else target  # noqa: SIM115
    try:
        if fmt == "csv":
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            writer = csv.writer(text)
            writer.writerow(headers)
            for row in rows:
                writer.writerow([escape_cell(v) for v in row])
                count += 1
            text.flush()
            text.detach()
        else:
            from openpyxl import Workbook
            from openpyxl.cell import WriteOnlyCell

            book = Workbook(write_only=True)
            sheet = book.create_sheet()
            sheet.append(headers)
            for row in rows:
                cells = []
                for v in row:
                    cell = WriteOnlyCell(sheet, value=escape_cell(v))
                    if isinstance(v, str):
                        cell.data_type = "s"  # never a formula, whatever it starts with
                    cells.append(cell)
                sheet.append(cells)
                count += 1
            book.save(stream)
    finally:
        if isinstance(target, str | Path):
            stream.close()
    return count


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def spreadsheet_format(requested: str | None) -> str:
    """The format asked for (``?format=``), XLSX when it is missing or unknown."""
    return requested if requested in FORMATS else "xlsx"


def spreadsheet_response(filename: str, fmt: str, headers: Sequence[str], rows: Iterable[Sequence]):
    """A download of ``rows`` as ``filename`` (no extension) in ``fmt``."""
    from django.http import HttpResponse

    response = HttpResponse(content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    write_table(response, fmt, headers, rows)
    return response
