from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from core.spreadsheets import detect_format, write_table
from grids.management.base import ExportCommand
from residents import services
from residents.imports import resident_export_headers, resident_export_rows
from residents.models import Resident


class Command(ExportCommand):
    help = (
        "Export every resident to a spreadsheet, ID numbers and phones masked; logged in the "
        "personal-data access log under --user, as an export from the portal is."
    )
    headers = resident_export_headers
    what = "residents"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--user", required=True, help="the login of who exports (the access log names them)"
        )

    def handle(self, *args, path, format, user, **options):
        viewer = get_user_model().objects.filter(username=user).first()
        if viewer is None:
            raise CommandError(f"no login {user!r}: the access log names who exports")
        fmt = format or detect_format(path)
        count = write_table(
            path, fmt, resident_export_headers(), resident_export_rows(Resident.objects.all())
        )
        services.resident_export_record(
            viewer=viewer, scope=services.resident_export_scope(None), rows=count
        )
        self.stdout.write(f"{self.what}: {count} rows written to {path}")
