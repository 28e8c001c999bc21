"""The reporters of a problem: the tracking link they are sent, what they are told, and
which problems are a signed-in resident's own.

A reporter reached by phone (the hotline, a visit, the Open311 API …) and not signed in on
the resident pages is sent a personal tracking link by SMS: ``/t/<token>/`` opens that one
problem and its rating form without signing in. The token is unguessable
(``secrets.token_urlsafe``) and works until the rating window after the problem was
resolved (or closed) has passed (``tracking_expires_at``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import TextMessage
from core.privacy import mask_phone
from core.requests import portal_url
from core.sms import sms_number_or_none, sms_queue
from issues.models import Ticket, TicketReporter, TicketSettings
from issues.rules import ENDED_STATES, FINAL_STATES

logger = logging.getLogger(__name__)

# The tracking page is the resident pages' (``citizens:track`` serves this path); the link
# is built here, where it is sent, without naming the app above.
TRACKING_PATH = "/t/{token}/"


def tracking_url(reporter: TicketReporter) -> str:
    return portal_url(TRACKING_PATH.format(token=reporter.token))


def tracking_sms(reporter: TicketReporter) -> TextMessage | None:
    """Send the reporter their tracking link, if they have a mobile number and it has not
    had ``settings.TRACKING_SMS_PER_NUMBER_PER_DAY`` (default 5) tracking texts in the last
    24 hours. Anyone can file a problem with any number (Open311, the hotline), so without a
    limit the intake would be a way to flood a number with texts at the portal's cost; past
    it the problem is filed all the same, no text is queued and a warning is logged. One
    indexed count (``core.TextMessage`` by number and time)."""
    number = sms_number_or_none(reporter.phone)
    if number is None:
        return None
    limit = getattr(settings, "TRACKING_SMS_PER_NUMBER_PER_DAY", 5)
    since = timezone.now() - dt.timedelta(hours=24)
    sent = TextMessage.objects.filter(
        number=number, created_at__gte=since, purpose=TextMessage.Purpose.TRACKING
    ).count()
    if sent >= limit:
        logger.warning(
            "Tracking SMS for problem #%s not queued: %s already had %s tracking texts in "
            "24 hours (TRACKING_SMS_PER_NUMBER_PER_DAY=%s)",
            reporter.ticket_id,
            mask_phone(number.removeprefix("+86")),
            sent,
            limit,
        )
        return None
    ticket = reporter.ticket
    text = _(
        "Your problem #%(id)s (%(category)s) has been received. Follow it and rate the "
        "result here: %(url)s"
    ) % {"id": ticket.pk, "category": ticket.category.name, "url": tracking_url(reporter)}
    return sms_queue(number, text, purpose=TextMessage.Purpose.TRACKING)


def reporters_tell(ticket: Ticket, text: str, *, reporters: Iterable | None = None) -> int:
    """Tell every reporter of ``ticket`` (or just ``reporters``) who has a mobile number
    ``text``, each with their own tracking link; in the caller's transaction, sent after
    commit. Signed-in residents also see it on their pages. One query for the reporters
    (none when given), one outbox row per message. Returns how many were queued."""
    rows = ticket.reporters.all() if reporters is None else reporters
    count = 0
    for reporter in rows:
        number = sms_number_or_none(reporter.phone)
        if number is None:
            continue
        sms_queue(
            number,
            f"{text} {tracking_url(reporter)}",
            purpose=TextMessage.Purpose.REPORTER,
        )
        count += 1
    return count


def tracking_expires_at(ticket: Ticket) -> dt.datetime | None:
    """When a tracking link to ``ticket`` stops working: the rating window after it was
    resolved or closed; never while it is being worked on."""
    ended = ticket.closed_at if ticket.state in FINAL_STATES else ticket.resolved_at
    if ticket.state not in ENDED_STATES or ended is None:
        return None
    return ended + dt.timedelta(days=TicketSettings.current().rating_days)


def reporter_by_token(token: str, *, now: dt.datetime | None = None) -> TicketReporter | None:
    """The reporter whose tracking link this is, if it still works."""
    reporter = (
        TicketReporter.objects.select_related("ticket", "ticket__category", "ticket__area")
        .filter(token=token)
        .first()
    )
    if reporter is None:
        return None
    expires = tracking_expires_at(reporter.ticket)
    if expires is not None and (now or timezone.now()) >= expires:
        return None
    return reporter


def reporters_of_account(account) -> QuerySet[TicketReporter]:
    """The reporter rows that are ``account``'s: reported by them on the resident pages,
    or by anyone with their mobile number (which they proved by signing in), or recorded by
    a worker for the register's resident their account is linked to."""
    q = Q(account=account) | Q(phone=account.phone)
    if account.resident_id:
        q |= Q(resident_id=account.resident_id)
    return TicketReporter.objects.filter(q)
