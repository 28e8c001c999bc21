"""``python manage.py seed_city [--scale F] [--engagement-only]``: a synthetic prefecture
city (portal/city.py) with its engagement (portal/city_engagement.py)."""

import time

from django.core.management.base import BaseCommand, CommandError

from portal import city, city_engagement


class Command(BaseCommand):
    help = "Build a deterministic synthetic city into an empty PostgreSQL database."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=float, default=1.0, help="1 = 20,000 grids, 3 million residents"
        )
        parser.add_argument(
            "--engagement-only",
            action="store_true",
            help="add only the wishes, visits, meetings, proposals and points to a city "
            "built before them (refused when it already holds any)",
        )

    def handle(self, *args, scale, engagement_only=False, **options):
        started = time.monotonic()

        def progress(stage: str, count: int) -> None:
            self.stdout.write(f"{stage}: {count:,} ({time.monotonic() - started:.1f} s)")

        try:
            if engagement_only:
                built = city_engagement.seed(scale=scale, progress=progress)
            else:
                built = city.seed(scale=scale, progress=progress)
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        # A few calls through the services on the seeded rows (rolled back afterwards).
        differences = city_engagement.check()
        progress("checked through the services", len(differences))
        if differences:
            raise CommandError("seeded rows differ from the services': " + "; ".join(differences))
        what = "engagement" if engagement_only else "city"
        self.stdout.write(
            self.style.SUCCESS(
                f"{what} at scale {scale}: "
                + ", ".join(f"{n:,} {what}" for what, n in built.items())
                + f" in {time.monotonic() - started:.1f} s."
            )
        )
