"""What a resident does on the resident pages, each act through the issues services."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.ratelimit import rate_limit_take
from issues import services as issues
from issues.models import Ticket
from issues.rules import SYSTEM, ReporterActor

# Reports per account and per address: a resident reports a handful of problems, a script
# floods the triagers' desks.
REPORTS_PER_ACCOUNT_DAY = 10
REPORTS_PER_ADDRESS_DAY = 50
DAY = 24 * 60 * 60


def report_limit_message() -> str:
    return _("You have reported many problems today. Please try again tomorrow.")


def resident_report(*, account, area, category, description: str, photos=(), ip=None) -> Ticket:
    """A problem reported by a signed-in resident through the mini-program channel: the
    account becomes its first reporter. ``core.ratelimit.RateLimited`` when the account
    or the address has reported too much today."""
    limits = {f"account:{account.pk}": REPORTS_PER_ACCOUNT_DAY}
    if ip:
        limits[f"ip:{ip}"] = REPORTS_PER_ADDRESS_DAY
    rate_limit_take(action="resident-report", limits=limits, window=DAY)
    return issues.ticket_report(
        area=area,
        category=category,
        channel=Ticket.Channel.MINI_PROGRAM,
        description=description,
        actor=SYSTEM,
        account=account,
        photos=photos,
    )


def reporter_rate(*, reporter, rating: str, comment: str = "", expected_version=None) -> Ticket:
    """The reporter rates the result of their problem (the resident pages, the tracking
    link): ``issues.services.ticket_rate`` with the reporter acting for themselves."""
    return issues.ticket_rate(
        ticket=reporter.ticket,
        actor=ReporterActor(reporter),
        rating=rating,
        comment=comment,
        expected_version=expected_version,
    )
