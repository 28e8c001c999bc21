from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from issues.models import Ticket
from issues.services import api_key_create


class Command(BaseCommand):
    help = "Make an Open311 API key for an intake channel and print it (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("channel", choices=Ticket.Channel.values)
        parser.add_argument("--name", default="", help="what the key is for, e.g. 莲乡一网通")

    def handle(self, *args, channel, name, **options):
        try:
            key, raw = api_key_create(name=name, channel=channel)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(raw)
        self.stderr.write(f"key {key.prefix}… for {key.get_channel_display()} ({key.name})")
