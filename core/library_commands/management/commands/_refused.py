from django.core.management.base import BaseCommand, CommandError

INSTEAD = (
    "the portal's own commands: import_areas / export_areas, import_heads / export_heads, "
    "import_residents / export_residents --user <login>; holidays and departments through "
    "the admin's import and export"
)


class RefusedCommand(BaseCommand):
    """A library command the portal does not offer: it says what to use instead."""

    library = ""

    def add_arguments(self, parser):
        parser.add_argument("args", nargs="*")

    def handle(self, *args, **options):
        raise CommandError(
            f"django-import-export's {self.library!r} command is switched off here: it "
            "bypasses the masking, the access log, the formula escaping and the upload "
            f"limits. Use {INSTEAD}."
        )
