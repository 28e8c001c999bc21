from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from grids.management.base import ImportCommand
from residents.imports import residents_import


class Command(ImportCommand):
    help = (
        "Import households and residents from a spreadsheet. All-or-nothing; residents are "
        "matched by ID number. With --user, only into the areas that login may import into."
    )
    service = residents_import
    what = "residents"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--user", help="import as this login, within its scope")

    def service_kwargs(self, options):
        username = options.get("user")
        if not username:
            return {}
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no login named {username!r}")
        return {"user": user}
