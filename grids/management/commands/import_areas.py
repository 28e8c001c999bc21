from grids.imports import areas_import
from grids.management.base import ImportCommand


class Command(ImportCommand):
    help = "Import areas from a spreadsheet. All-or-nothing: any bad row and nothing is written."
    service = areas_import
    what = "areas"
