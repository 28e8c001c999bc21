from grids.imports import head_export_headers, head_export_rows
from grids.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export the current heads to a spreadsheet that import_heads reads back."
    headers = head_export_headers
    rows = head_export_rows
    what = "heads"
