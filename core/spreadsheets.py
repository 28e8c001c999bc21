"""Reading and writing the spreadsheets admins exchange with the portal.

Excel writes CSV as UTF-8, UTF-8 with a BOM or GBK depending on version and settings, and
XLSX. We detect which, keep each row's line number for error messages, map Chinese or
English headers onto field keys, and on the way out escape text cells that a spreadsheet
would otherwise execute as a formula.

Reading is bounded (``ReadLimits``): the file's size, its rows, columns and cell lengths, and
for an XLSX the unpacked size of the zip, checked from its directory before openpyxl opens
it. A CSV is read as a stream and stops at the row limit; nothing is read whole into memory.
A cell holding a control character (a NUL that the database would refuse, an escape code)
is an error of that cell, so that the preview shows it and nothing reaches the confirm.

A code whose every digit counts (an area code, an ID number, a phone) is text. Excel and WPS
take a long run of digits for a number: they show 1.10101E+11, keep 15 significant digits of
an ID number, drop a landline's leading 0, and a CSV saved from there holds the rounded
display. Such a column is refused as a whole (``Column.digits``) before any row is read, with
what to do about it, rather than as a heap of duplicate codes and wrong check digits. A
mobile number stored as a number has lost nothing (11 digits, no leading 0) and is read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from django.utils.translation import gettext as _

from core.numbers import MOBILE_RE

FORMATS = ("csv", "xlsx")
# What makes a spreadsheet read a cell as a formula (or a DDE call): the ASCII signs, their
# full-width forms (Excel and WPS in a Chinese locale take ＝1+1 as =1+1), a leading tab or
# carriage return. Leading spaces are looked through.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_LEADING_BLANKS = " \u3000"
# C0 controls but tab, line feed and carriage return (Excel writes those inside cells: Alt+Enter),
# DEL and the C1 controls. PostgreSQL refuses NUL in text, and XLSX cannot hold the C0 ones.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MB = 1024 * 1024
_READ_CHUNK = MB
_MAX_CELL_ERRORS = 200  # listed at once; the rest would only bury them
_RATIO_FLOOR = 10 * MB  # below this unpacked size a high compression ratio is harmless
# XML turns a carriage return into a line feed: OOXML writes it as _x000D_ (and an underscore
# that would read as such an escape as _x005F_), as Excel does. openpyxl does neither.
_OOXML_ESCAPE_RE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)|\r")
_OOXML_UNESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# How a spreadsheet writes a number too long for its column into a CSV: 1.10101E+11.
_SCIENTIFIC_RE = re.compile(r"^[+-]?[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+$")


@dataclass(frozen=True)
class ReadLimits:
    """How much one read may take; None: no limit. ``web()`` gives the limits of an upload,
    from the settings; the commands start from ``command_line()`` and their flags."""

    max_bytes: int | None = None
    max_rows: int | None = None  # data rows, the header not counted, blank rows counted
    max_columns: int | None = None
    max_cell_chars: int | None = None
    max_unpacked_bytes: int | None = None  # XLSX: the sum of the zip members' sizes
    max_zip_ratio: int | None = None  # XLSX: unpacked size / packed size

    @classmethod
    def web(cls) -> ReadLimits:
        from django.conf import settings

        return cls(
            max_bytes=settings.SPREADSHEET_MAX_UPLOAD_BYTES,
            max_rows=settings.SPREADSHEET_MAX_ROWS,
            max_columns=settings.SPREADSHEET_MAX_COLUMNS,
            max_cell_chars=settings.SPREADSHEET_MAX_CELL_CHARS,
            max_unpacked_bytes=settings.SPREADSHEET_MAX_UNPACKED_BYTES,
            max_zip_ratio=settings.SPREADSHEET_MAX_ZIP_RATIO,
        )

    @classmethod
    def command_line(cls) -> ReadLimits:
        """An admin's own file on the server: no size or row limit, the same shape checks."""
        return replace(cls.web(), max_bytes=None, max_rows=None, max_unpacked_bytes=None)

    def check_size(self, size: int) -> None:
        if self.max_bytes is not None and size > self.max_bytes:
            raise SpreadsheetError(
                [
                    CellError(
                        0,
                        "",
                        _("the file is %(size)s; the limit is %(limit)s")
                        % {"size": _megabytes(size), "limit": _megabytes(self.max_bytes)},
                    )
                ]
            )


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB"


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
    sheet: str = ""  # XLSX: the title of the sheet read
    # XLSX: the (line, column index) of the cells stored as numbers, not text
    numbers: set[tuple[int, int]] = field(default_factory=set)

    def stored_as_number(self, line: int, index: int, text: str) -> bool:
        """Whether the cell was a number in the file: an XLSX number cell, or in a CSV the
        scientific notation a spreadsheet writes for a long number."""
        return (line, index) in self.numbers or bool(_SCIENTIFIC_RE.match(text))


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the Chinese header we write
    aliases: tuple[str, ...] = ()
    required: bool = True
    # A code whose every digit counts. CODE: never read from a number cell; PHONE: from a
    # number cell only when it is a whole mobile number (nothing can be missing from one).
    digits: str = ""
    CODE = "code"
    PHONE = "phone"

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


class _NumberText(str):
    """The text of an XLSX cell stored as a number (``_collect`` notes where it was)."""


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


def _ooxml_escape(text: str) -> str:
    return _OOXML_ESCAPE_RE.sub(lambda m: "_x005F_" if m.group() == "_" else "_x000D_", text)


def _ooxml_unescape(text: str) -> str:
    if "_x" not in text:
        return text
    return _OOXML_UNESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _needs_escape(text: str) -> bool:
    """Starts with a formula character, possibly behind apostrophes of its own: ``=1`` and
    ``'=1`` are both escaped, so that ``unescape_cell`` can always strip exactly one."""
    return text.lstrip("'").lstrip(_LEADING_BLANKS).startswith(_FORMULA_START)


def unescape_cell(text: str) -> str:
    """Undo our own formula escaping so that an export imports back unchanged."""
    if text[:1] == "'" and _needs_escape(text[1:]):
        return text[1:]
    return text


def escape_cell(value):
    if isinstance(value, str) and _needs_escape(value):
        return "'" + value
    return value


def read_table(
    source: str | Path | IO[bytes], name: str | None = None, *, limits: ReadLimits | None = None
) -> Table:
    """Read the first sheet of an XLSX or a CSV file. Blank rows are skipped. ``limits``
    default to an upload's (``ReadLimits.web()``); ``ReadLimits()`` reads without any."""
    limits = ReadLimits.web() if limits is None else limits
    with ExitStack() as stack:
        if isinstance(source, str | Path):
            name = name or str(source)
            fh = stack.enter_context(open(source, "rb"))  # noqa: SIM115
        else:
            fh = source
            if not fh.seekable():  # both readers go over the file twice
                fh = io.BytesIO(fh.read())
        fmt = detect_format(name or "")
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        fh.seek(0)
        limits.check_size(size)
        if fmt == "xlsx":
            _check_zip(fh, size, limits)
            sheet: list[str] = []
            rows_iter, encoding = _xlsx_rows(fh, sheet), ""
        else:
            sheet = []
            encoding = _csv_encoding(fh)
            rows_iter = _csv_rows(fh, encoding)
        # Closed before the file is, even when reading stops half-way.
        stack.enter_context(closing(rows_iter))
        table = _collect(rows_iter, limits, encoding, fmt)
        table.sheet = sheet[0] if sheet else ""
        return table


def _collect(
    rows_iter: Iterable[tuple[int, list[str]]], limits: ReadLimits, encoding: str, fmt: str
) -> Table:
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    errors: list[CellError] = []
    numbers: set[tuple[int, int]] = set()
    read = 0  # rows after the header, blank ones included
    for line, cells in rows_iter:
        while cells and not cells[-1]:
            cells.pop()  # trailing empty cells are no columns
        if headers is not None:
            read += 1
            if limits.max_rows is not None and read > limits.max_rows:
                raise SpreadsheetError(
                    [
                        CellError(
                            line,
                            "",
                            _("the file has more than %(limit)s rows; the limit is %(limit)s")
                            % {"limit": limits.max_rows},
                        )
                    ]
                )
        if limits.max_columns is not None and len(cells) > limits.max_columns:
            raise SpreadsheetError(
                [
                    CellError(
                        line,
                        "",
                        _("this row has %(count)s columns; the limit is %(limit)s")
                        % {"count": len(cells), "limit": limits.max_columns},
                    )
                ]
            )
        if not cells:
            continue
        if headers is None:
            headers = [unescape_cell(c.strip().lstrip("\ufeff")) for c in cells]
            _check_cells(line, headers, headers, limits, errors)
            continue
        for i, cell in enumerate(cells):
            if type(cell) is _NumberText:
                numbers.add((line, i))
                cells[i] = str(cell)
        cells = [unescape_cell(c) if c[:1] == "'" else c for c in cells]
        _check_cells(line, cells, headers, limits, errors)
        if len(errors) >= _MAX_CELL_ERRORS:
            errors.append(
                CellError(
                    line,
                    "",
                    _("reading stopped after %(count)s errors") % {"count": len(errors)},
                )
            )
            break
        rows.append((line, cells))
    if errors:
        raise SpreadsheetError(errors)
    if headers is None:
        raise SpreadsheetError([CellError(1, "", _("the file is empty: no header row"))])
    return Table(headers=headers, rows=rows, encoding=encoding, fmt=fmt, numbers=numbers)


def _check_cells(
    line: int, cells: list[str], headers: list[str], limits: ReadLimits, errors: list[CellError]
) -> None:
    longest = limits.max_cell_chars
    if not _CONTROL_RE.search("\n".join(cells)) and (
        longest is None or max(map(len, cells)) <= longest
    ):
        return  # the usual row, checked in one pass
    for i, text in enumerate(cells):
        if not text:
            continue
        message = ""
        if match := _CONTROL_RE.search(text):
            message = _("contains a control character (U+%(code)s)") % {
                "code": f"{ord(match.group()):04X}"
            }
        elif limits.max_cell_chars is not None and len(text) > limits.max_cell_chars:
            message = _("is %(length)s characters long; the limit is %(limit)s") % {
                "length": len(text),
                "limit": limits.max_cell_chars,
            }
        if message:
            header = headers[i] if i < len(headers) and not _CONTROL_RE.search(headers[i]) else ""
            label = f"{column_letter(i)}（{header}）" if header else column_letter(i)
            errors.append(CellError(line, label, message))


def _csv_encoding(fh: IO[bytes]) -> str:
    """UTF-8 with BOM, then UTF-8, then GB18030 (a superset of GBK), each tried over the whole
    file a chunk at a time, so that a wrong guess is found before any row is used."""
    has_bom = fh.read(3) == codecs.BOM_UTF8
    candidates = (
        (("utf-8-sig", "utf-8-sig"),) if has_bom else (("utf-8", "utf-8"), ("gbk", "gb18030"))
    )
    position = 0
    for label, codec in candidates:
        fh.seek(0)
        decoder = codecs.getincrementaldecoder(codec)()
        offset = 0
        try:
            while chunk := fh.read(_READ_CHUNK):
                pending = len(decoder.getstate()[0])
                offset -= pending
                decoder.decode(chunk)
                offset += pending + len(chunk)
            offset -= len(decoder.getstate()[0])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            position = offset + exc.start
            continue
        fh.seek(0)
        return label
    raise SpreadsheetError(
        [
            CellError(
                0,
                "",
                _("the file is neither UTF-8 nor GBK text (byte %(pos)s)") % {"pos": position},
            )
        ]
    )


def _csv_rows(fh: IO[bytes], encoding: str) -> Iterable[tuple[int, list[str]]]:
    codec = "gb18030" if encoding == "gbk" else encoding
    text = io.TextIOWrapper(fh, encoding=codec, newline="")
    reader = csv.reader(text)
    start = 1
    try:
        for cells in reader:
            yield start, [c.strip() for c in cells]
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SpreadsheetError(
            [CellError(start, "", _("unreadable CSV: %(error)s") % {"error": exc})]
        ) from None
    finally:
        text.detach()  # the caller's file stays open


def _check_zip(fh: IO[bytes], size: int, limits: ReadLimits) -> None:
    """Refuse a zip bomb from the zip's directory, before anything is unpacked. Python's
    zipfile never unpacks a member past the size its directory gives, so the sum holds."""
    try:
        with zipfile.ZipFile(fh) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SpreadsheetError(
            [CellError(0, "", _("not a readable XLSX file: %(error)s") % {"error": exc})]
        ) from None
    finally:
        fh.seek(0)
    if limits.max_unpacked_bytes is not None and unpacked > limits.max_unpacked_bytes:
        raise SpreadsheetError(
            [
                CellError(
                    0,
                    "",
                    _("the XLSX file unpacks to %(size)s; the limit is %(limit)s")
                    % {
                        "size": _megabytes(unpacked),
                        "limit": _megabytes(limits.max_unpacked_bytes),
                    },
                )
            ]
        )
    ratio = unpacked / max(size, 1)
    if (
        limits.max_zip_ratio is not None
        and unpacked > _RATIO_FLOOR
        and ratio > limits.max_zip_ratio
    ):
        raise SpreadsheetError(
            [
                CellError(
                    0,
                    "",
                    _(
                        "the XLSX file unpacks to %(size)s, %(ratio)s times its own size; "
                        "the limit is %(limit)s times"
                    )
                    % {
                        "size": _megabytes(unpacked),
                        "ratio": int(ratio),
                        "limit": limits.max_zip_ratio,
                    },
                )
            ]
        )


def _xlsx_rows(fh: IO[bytes], sheet_title: list[str]) -> Iterable[tuple[int, list[str]]]:
    """The first sheet's rows as text (its title appended to ``sheet_title``); a cell stored
    as a number comes as ``_NumberText``."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises a zoo of types for a broken file
        raise SpreadsheetError(
            [CellError(0, "", _("not a readable XLSX file: %(error)s") % {"error": exc})]
        ) from None
    try:
        sheet = book.worksheets[0]
        sheet_title.append(sheet.title)
        # The sheet's own dimension (A1:XFD1048576 costs nothing to write) would pad every
        # row to it: without it a row is as wide as its last cell, and rows end where the
        # file's do.
        sheet.reset_dimensions()
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_xlsx_cell_text(v) for v in values]
    except SpreadsheetError:
        raise
    except Exception as exc:  # a member cut short, bad XML half-way
        raise SpreadsheetError(
            [CellError(0, "", _("not a readable XLSX file: %(error)s") % {"error": exc})]
        ) from None
    finally:
        book.close()


def _xlsx_cell_text(value) -> str:
    if isinstance(value, str):
        return _cell_text(_ooxml_unescape(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _NumberText(_cell_text(value))
    return _cell_text(value)


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
    _check_digits(table, mapping, columns)
    return mapping


def _check_digits(table: Table, mapping: ColumnMap, columns: Sequence[Column]) -> None:
    """Refuse each code column that holds numbers (``Column.digits``): one error per column,
    at its first such cell, with how many there are."""
    errors: list[CellError] = []
    for col in columns:
        i = mapping.index.get(col.key)
        if not col.digits or i is None:
            continue
        found = [
            (line, cells[i])
            for line, cells in table.rows
            if i < len(cells)
            and cells[i]
            and table.stored_as_number(line, i, cells[i])
            and not (col.digits == Column.PHONE and MOBILE_RE.match(cells[i]))
        ]
        if not found:
            continue
        line, value = found[0]
        where = (
            _("sheet “%(sheet)s”, %(count)s cells stored as numbers, the first “%(value)s”")
            if table.sheet
            else _("%(count)s cells written as numbers, the first “%(value)s”")
        ) % {"sheet": table.sheet, "count": len(found), "value": value}
        errors.append(
            CellError(
                line,
                mapping.label(col.key),
                _("this column lost digits; format it as text (%(where)s)") % {"where": where},
            )
        )
    if errors:
        raise SpreadsheetError(errors)


def write_table(
    target: str | Path | IO[bytes],
    fmt: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    *,
    preamble: Sequence[Sequence] = (),
) -> int:
    """Write ``preamble`` (lines above the table: a ledger's title and filters), a header
    row and ``rows``; returns the number of data rows written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    count = 0
    stream = open(target, "wb") if isinstance(target, str | Path) else target  # noqa: SIM115
    try:
        if fmt == "csv":
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            writer = csv.writer(text)
            for line in preamble:
                writer.writerow([escape_cell(v) for v in line])
            writer.writerow([escape_cell(h) for h in headers])
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

            def text_cells(values: Sequence) -> list:
                cells = []
                for v in values:
                    value = escape_cell(v)
                    if isinstance(value, str):
                        value = _ooxml_escape(value)
                    cell = WriteOnlyCell(sheet, value=value)
                    if isinstance(v, str):
                        cell.data_type = "s"  # never a formula, whatever it starts with
                    cells.append(cell)
                return cells

            for line in preamble:
                sheet.append(text_cells(line))
            sheet.append(text_cells(headers))
            for row in rows:
                sheet.append(text_cells(row))
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


def spreadsheet_response(
    filename: str,
    fmt: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    *,
    preamble: Sequence[Sequence] = (),
):
    """A download of ``rows`` as ``filename`` (no extension) in ``fmt``, ``preamble`` lines
    above its header; ``rows_written`` on the response says how many data rows it holds
    (what an export's access log records)."""
    from django.http import HttpResponse

    response = HttpResponse(content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response.rows_written = write_table(response, fmt, headers, rows, preamble=preamble)
    return response
