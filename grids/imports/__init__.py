"""Spreadsheet import and export of areas and heads.

``areas_import`` and ``heads_import`` are the one way spreadsheets get into the portal: the
admin pages, the ``import_areas``/``import_heads`` commands and the demo loader all call
them. The package is split by what each part does:

- ``columns``: the spreadsheet vocabulary (headers, names of kinds, grid types and titles);
- ``areas``: planning and applying an area import;
- ``numbering``: the nested-set numbers of the districts a file touches (a pure function);
- ``sql``: the set-based reads and writes of many area rows (PostgreSQL, SQLite fallback);
- ``heads``: the heads import;
- ``export``: area and head spreadsheets out.
"""

from core.importing import ImportFailed, ImportReport
from grids.imports.areas import areas_import
from grids.imports.columns import (
    AREA_COLUMNS,
    GRID_TYPE_LOOKUP,
    GRID_TYPE_NAMES,
    HEAD_COLUMNS,
    KIND_LOOKUP,
    KIND_NAMES,
    TITLE_LOOKUP,
    TITLE_NAMES,
)
from grids.imports.export import (
    area_export_headers,
    area_export_rows,
    head_export_headers,
    head_export_rows,
)
from grids.imports.heads import heads_import

__all__ = [
    "AREA_COLUMNS",
    "GRID_TYPE_LOOKUP",
    "GRID_TYPE_NAMES",
    "HEAD_COLUMNS",
    "KIND_LOOKUP",
    "KIND_NAMES",
    "TITLE_LOOKUP",
    "TITLE_NAMES",
    "ImportFailed",
    "ImportReport",
    "area_export_headers",
    "area_export_rows",
    "areas_import",
    "head_export_headers",
    "head_export_rows",
    "heads_import",
]
