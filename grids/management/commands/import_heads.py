from grids.imports import heads_import
from grids.imports.logins import LoginDelivery
from grids.management.base import ImportCommand


class Command(ImportCommand):
    help = (
        "Import heads from a spreadsheet. All-or-nothing: any bad row and nothing is written. "
        "With --logins, the people of the file who have no login get one (username: their "
        "mobile number) with a one-time password sent by SMS (sms) or printed once (show)."
    )
    service = heads_import
    what = "heads"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--logins",
            choices=[LoginDelivery.SMS.value, LoginDelivery.SHOW.value],
            default=LoginDelivery.NONE.value,
            help="create logins; the one-time passwords by SMS after commit, or printed here",
        )

    def service_kwargs(self, options) -> dict:
        return {"logins": options["logins"]}

    def report_done(self, report) -> None:
        # Printed this once (the import keeps them nowhere): line, name, username, password.
        for password in report.passwords:
            self.stdout.write(
                f"{password.line}\t{password.name}\t{password.username}\t{password.password}"
            )
