"""Calling the reporter back: who may see the reporter's phone number and the description
with the numbers in it unmasked, each look logged like any personal data."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from core.privacy import scrub_personal_numbers
from issues import permissions as perm
from issues import rules
from issues.models import Ticket, TicketAccess, TicketReporter
from residents.models import AccessLog
from residents.services import access_log_record

# Who tells the reporter something: the handler (progress, the result), whoever logs a
# return call or visit, a department reporting back, and the triager checking a report
# (受理/核实), who may decline it or merge it and tells the reporter so; and the first asker
# (``is_first_asker``) all along.
CALL_BACK_ACTIONS = frozenset(
    {
        perm.PROGRESS,
        perm.RESOLVE,
        perm.RATE,
        perm.RETURN_VISIT,
        perm.DEPARTMENT_REPORT,
        perm.DECLINE,
        perm.MERGE,
    }
)


def is_first_asker(user, ticket: Ticket) -> bool:
    """首问负责: the first asker keeps the reporter informed until the problem is finished,
    whoever handles it meanwhile."""
    return (
        ticket.first_asker_id is not None
        and ticket.first_asker_id == getattr(user, "pk", None)
        and ticket.state not in rules.FINAL_STATES  # closed or declined
    )


def may_call_reporter(user, ticket: Ticket, actions: set[str] | None = None) -> bool:
    """Whoever must tell the reporter the result (or take their rating) may see the number,
    and the first asker (首问负责) while the problem is not closed or declined."""
    if is_first_asker(user, ticket):
        return True
    actions = perm.ticket_actions(user, ticket) if actions is None else actions
    return bool(actions & CALL_BACK_ACTIONS)


def reporter_phone(ticket: Ticket) -> str:
    return ticket.reporter_phone or (ticket.reporter.phone if ticket.reporter_id else "")


def _log_look(
    *, user, ticket: Ticket, field: str, ip: str | None, user_agent: str, resident
) -> None:
    """Refuse who may not call the reporter back; log the look for everyone else, with the
    problem it was for."""
    if not may_call_reporter(user, ticket):
        raise PermissionDenied
    access_log_record(
        viewer=user,
        resident=resident,
        link=lambda log: TicketAccess.objects.create(access_log=log, ticket=ticket),
        field=field,
        ip=ip,
        user_agent=user_agent,
    )


@transaction.atomic
def ticket_reporter_phone_reveal(
    *,
    user,
    ticket: Ticket,
    reporter: TicketReporter | None = None,
    ip: str | None = None,
    user_agent: str = "",
) -> str:
    """The full phone number of the reporter (or of ``reporter``, one of the problem's
    reporters, a report merged in included) for a call back, logged like any personal
    data."""
    if reporter is not None and reporter.ticket_id != ticket.pk:
        raise PermissionDenied
    _log_look(
        user=user,
        ticket=ticket,
        field=AccessLog.Field.PHONE,
        ip=ip,
        user_agent=user_agent,
        resident=reporter.resident if reporter is not None else ticket.reporter,
    )
    return reporter.phone if reporter is not None else reporter_phone(ticket)


def description_has_numbers(ticket: Ticket) -> bool:
    """Whether the pages show the description with numbers masked (and so offer a reveal)."""
    return scrub_personal_numbers(ticket.description) != ticket.description


@transaction.atomic
def ticket_description_reveal(
    *, user, ticket: Ticket, ip: str | None = None, user_agent: str = ""
) -> str:
    """The description as it was written, phone and ID numbers in it unmasked -- for whoever
    may call the reporter back (the same people who may see the reporter's phone), logged
    like any personal data."""
    _log_look(
        user=user,
        ticket=ticket,
        field=AccessLog.Field.DESCRIPTION,
        ip=ip,
        user_agent=user_agent,
        resident=ticket.reporter,
    )
    return ticket.description
