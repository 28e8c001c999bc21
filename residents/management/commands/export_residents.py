from grids.management.base import ExportCommand
from residents.imports import resident_export_headers, resident_export_rows
from residents.models import Resident


def _all_rows():
    return resident_export_rows(Resident.objects.all())


class Command(ExportCommand):
    help = "Export every resident to a spreadsheet, ID numbers and phones masked."
    headers = resident_export_headers
    rows = _all_rows
    what = "residents"
