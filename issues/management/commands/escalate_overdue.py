from django.core.management.base import BaseCommand

from issues.services import tickets_close_unrated, tickets_escalate_overdue


class Command(BaseCommand):
    help = (
        "Lift every overdue problem one level and put it on the rectification list; close "
        "problems left unrated past the configured days. Safe to run any number of times."
    )

    def handle(self, *args, **options):
        lifted = tickets_escalate_overdue()
        closed = tickets_close_unrated()
        self.stdout.write(f"overdue handled: {lifted}; closed as not rated: {closed}")
