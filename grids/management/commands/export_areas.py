from grids.imports import area_export_headers, area_export_rows
from grids.management.base import ExportCommand


class Command(ExportCommand):
    help = "Export every area to a spreadsheet that import_areas reads back."
    headers = area_export_headers
    rows = area_export_rows
    what = "areas"
