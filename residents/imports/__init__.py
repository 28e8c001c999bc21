"""Spreadsheet import and (masked) export of households and residents.

One row a resident, carrying its household (area code + door number). The same rules as the
area import: three encodings and XLSX, every error with line and column, all-or-nothing,
and re-importing changes nothing (residents are matched by ID number, households by area
and door). Scoped: a user imports only into areas where their role may import; an area
outside it reads as unknown, and a known ID number outside it cannot be touched.

``residents_import`` is the one way resident spreadsheets get in: the import page, the
``import_residents`` command and the demo loader call it. The package is split by what each
part does:

- ``columns``: the spreadsheet vocabulary (headers, genders, yes/no columns, tag separators);
- ``rows``: reading the rows, each cell parsed and checked on its own;
- ``residents``: the import itself, with the lookups and the checks across rows;
- ``plan``: what each checked row creates or changes, and the writes;
- ``export``: the resident spreadsheet out.
"""

from core.importing import ImportFailed, ImportReport
from residents.imports.columns import GENDERS, RESIDENT_COLUMNS
from residents.imports.export import resident_export_headers, resident_export_rows
from residents.imports.residents import residents_import

__all__ = [
    "GENDERS",
    "RESIDENT_COLUMNS",
    "ImportFailed",
    "ImportReport",
    "resident_export_headers",
    "resident_export_rows",
    "residents_import",
]
