"""``python manage.py seed_city [--scale F]``: a synthetic prefecture city (portal/city.py)."""

import time

from django.core.management.base import BaseCommand, CommandError

from portal import city


class Command(BaseCommand):
    help = "Build a deterministic synthetic city into an empty PostgreSQL database."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=float, default=1.0, help="1 = 20,000 grids, 3 million residents"
        )

    def handle(self, *args, scale, **options):
        started = time.monotonic()

        def progress(stage: str, count: int) -> None:
            self.stdout.write(f"{stage}: {count:,} ({time.monotonic() - started:.1f} s)")

        try:
            built = city.seed(scale=scale, progress=progress)
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"city at scale {scale}: "
                + ", ".join(f"{n:,} {what}" for what, n in built.items())
                + f" in {time.monotonic() - started:.1f} s."
            )
        )
