import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from digests.models import Digest
from digests.periods import is_finished, latest_due, period_of
from digests.services import digests_build, digests_deliver
from grids.models import Area


class Command(BaseCommand):
    help = (
        "Build the daily, weekly or monthly digests of one period (default: today, the last "
        "full week, the last full month) and mail them. Digests already built are kept as "
        "they are unless --rebuild is given; nothing is ever mailed twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=Digest.Kind.values)
        parser.add_argument(
            "--date",
            help="YYYY-MM-DD: a day of the period to build (weekly and monthly: the week or "
            "month holding it, which must be over)",
        )
        parser.add_argument("--node", help="area code: only the digests of nodes under it")
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="recompute the figures of digests already built (mails already sent are not "
            "sent again)",
        )
        parser.add_argument(
            "--no-mail", action="store_true", help="build only; write and send no mail"
        )

    def handle(self, *args, kind, date=None, node=None, rebuild=False, no_mail=False, **options):
        today = timezone.localdate()
        if date:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError:
                raise CommandError(_("--date must be YYYY-MM-DD")) from None
            period = period_of(kind, day)
            if kind == Digest.Kind.DAILY and day > today:
                raise CommandError(_("that day has not come yet"))
            if kind != Digest.Kind.DAILY and not is_finished(period, today):
                raise CommandError(_("that period is not over yet"))
        else:
            period = latest_due(kind, today)
        area = None
        if node:
            area = Area.objects.filter(code=node).first()
            if area is None:
                raise CommandError(_("no area with the code “%(code)s”") % {"code": node})
        try:
            result = digests_build(
                kind=kind, day=period.start, node=area, rebuild=rebuild, deliver=not no_mail
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        sent = 0 if no_mail else digests_deliver(period=period, root=area)
        self.stdout.write(
            _(
                "%(kind)s %(start)s–%(end)s: %(created)d created, %(kept)d kept, "
                "%(rebuilt)d rebuilt; %(sent)d e-mails sent"
            )
            % {
                "kind": kind,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
                "created": result.created,
                "kept": result.kept,
                "rebuilt": result.rebuilt,
                "sent": sent,
            }
        )
