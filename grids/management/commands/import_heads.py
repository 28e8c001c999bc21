from grids.imports import heads_import
from grids.management.base import ImportCommand


class Command(ImportCommand):
    help = "Import heads from a spreadsheet. All-or-nothing: any bad row and nothing is written."
    service = heads_import
    what = "heads"
