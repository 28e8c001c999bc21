"""Small helpers shared by the ticket tests (fixtures live in ``conftest.py``)."""

import datetime as dt
from zoneinfo import ZoneInfo

from issues.models import Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Time limits that differ from services.DEFAULT_DAYS, so a test sees they are read.
TIER_POLICIES = {
    "simple": (3, 2),  # (time limit, rectification days), in working days
    "complex": (5, 3),
    "hard": (10, 4),
}


def local(*args) -> dt.datetime:
    """An aware datetime in China Standard Time: ``local(2025, 1, 3, 10)``."""
    return dt.datetime(*args, tzinfo=SHANGHAI)


def end_of(day: dt.date) -> dt.datetime:
    """23:59:59 local on ``day``: where every working-day deadline falls."""
    return local(day.year, day.month, day.day, 23, 59, 59)


def events(ticket: Ticket, kind: str | None = None) -> list:
    rows = ticket.events.order_by("at", "pk")
    return list(rows.filter(kind=kind) if kind else rows)


def last_event(ticket: Ticket):
    return ticket.events.order_by("at", "pk").last()


def ticket_in(t, state: str) -> Ticket:
    """A simple ticket at U1, with the unit head, brought to ``state`` through the services
    (declined: by the grid head, as not ours)."""
    from issues import services

    S = Ticket.State
    if state == S.REPORTED:
        return t.report()
    if state == S.DECLINED:
        ticket = services.ticket_decline(
            ticket=t.report(), actor=t.user("grid_head"), reason="not_ours", note="这是物业的事"
        )
        ticket.refresh_from_db()
        return ticket
    ticket = t.report(tier="simple")
    if state == S.IN_PROGRESS:
        services.ticket_accept(ticket=ticket, actor=t.user("unit_head"))
    if state in (S.RESOLVED, S.CLOSED):
        services.ticket_resolve(ticket=ticket, actor=t.user("unit_head"), feedback="灯已换好")
    if state == S.CLOSED:
        # A return call by the community worker, who did not handle it (the handler may not
        # rate it: the rating is the reporter's).
        services.ticket_rate(ticket=ticket, actor=t.user("community"), rating="satisfied")
    ticket.refresh_from_db()
    assert ticket.state == state
    return ticket
