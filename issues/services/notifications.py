"""Telling people: outbox rows written in the same transaction as the change they tell
about, handed to a worker after commit, sent (at least once) through ``core.outbox``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.outbox import outbox_deliver, outbox_message_id, outbox_pending
from core.privacy import scrub_personal_numbers
from grids.models import Department
from issues import rules
from issues.models import DepartmentTask, Level, Notification, Ticket
from issues.services.routing import holders_of

log = logging.getLogger(__name__)


def notify(
    *, ticket: Ticket | None, users: Iterable, subject: str, body: str, emails: Iterable[str] = ()
) -> list[Notification]:
    """Write outbox rows now; send them after commit. A down broker never fails the caller:
    the rows stay unsent and ``notifications_sweep`` sends them later."""
    rows = [
        Notification(recipient=user, email=user.email, ticket=ticket, subject=subject, body=body)
        for user in users
    ]
    rows += [
        Notification(email=email, ticket=ticket, subject=subject, body=body)
        for email in emails
        if email
    ]
    created = Notification.objects.bulk_create(rows)
    ids = [n.pk for n in created]
    if ids:
        transaction.on_commit(lambda: _queue(ids))
    return created


_broker_down_until = 0.0
BROKER_BACKOFF_SECONDS = 30


def _queue(ids: list[int]) -> None:
    """Hand the rows to a worker. If the broker is down, leave them for the sweep, and don't
    try again for a while: every request would otherwise wait on the same dead broker."""
    global _broker_down_until
    from issues.tasks import send_notifications

    if time.monotonic() < _broker_down_until:
        log.info("broker marked down; %d notification(s) left for the sweep", len(ids))
        return
    try:
        send_notifications.apply_async(args=[ids], retry=False)
    except Exception:  # any transport error: the rows are safe in the outbox
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        log.warning("broker unreachable; %d notification(s) left for the sweep", len(ids))


def notifications_send(*, ids: Iterable[int]) -> int:
    """Send the given outbox rows that are still unsent, each at least once
    (``core.outbox``: claimed and committed, mailed outside any transaction, marked sent).
    A row whose mail fails records the error and is tried again by the next sweep; it never
    holds up the others. Returns how many were sent."""
    return outbox_deliver(model=Notification, pks=ids, send=notification_mail)


def notifications_sweep(*, limit: int = 1000) -> int:
    """Send what a down broker (or a failed attempt, or a dead worker) left behind."""
    pending = outbox_pending(Notification.objects.all()).order_by("pk")
    return notifications_send(ids=list(pending.values_list("pk", flat=True)[:limit]))


def notification_mail(row: Notification) -> None:
    """One outbox row as one mail, with a ``Message-ID`` that is the same on every attempt.
    A row without an address (a login with no e-mail) has nothing to send."""
    if not row.email:
        return
    EmailMessage(
        subject=row.subject,
        body=row.body,
        to=[row.email],
        headers={"Message-ID": outbox_message_id(row, "notification")},
    ).send(fail_silently=False)


def excerpt(ticket: Ticket) -> str:
    """What a notification quotes of the problem: its start, with phone and ID numbers masked
    (notifications go by e-mail, also to departments' outside addresses)."""
    return scrub_personal_numbers(ticket.description[:200])


def notify_handler(ticket: Ticket, subject: str) -> None:
    body = _("Problem #%(id)s (%(category)s) at %(place)s: %(text)s\nDeadline: %(deadline)s") % {
        "id": ticket.pk,
        "category": ticket.category.name,
        "place": ticket.area.name,
        "text": excerpt(ticket),
        "deadline": timezone.localtime(ticket.deadline).strftime("%Y-%m-%d %H:%M")
        if ticket.deadline
        else "—",
    }
    notify(
        ticket=ticket,
        users=holders_of(ticket.handler_area, ticket.level),
        subject=subject,
        body=body,
    )


def notify_triagers(ticket: Ticket) -> None:
    """An untriaged problem waits on the grid head and the community over its place."""
    chain = list(ticket.area.get_ancestors(include_self=True))
    users = []
    for level in (Level.GRID, Level.COMMUNITY):
        kinds = next(k for lvl, k, _t in rules.LADDER if lvl == level)
        node = next((a for a in reversed(chain) if a.kind in kinds), None)
        if node is not None:
            users += list(holders_of(node, level))
    notify(
        ticket=ticket,
        users={u.pk: u for u in users}.values(),
        subject=_("New problem to triage: #%(id)s") % {"id": ticket.pk},
        body=excerpt(ticket),
    )


# --- assignment meetings ----------------------------------------------------------------------


def notify_open_departments(
    ticket: Ticket, subject: str, body: str, *, to_address: bool = False
) -> None:
    """Tell every department whose part is still open: its handlers and, with
    ``to_address``, its own mailbox."""
    for task in ticket.tasks.filter(status=DepartmentTask.Status.OPEN).select_related("department"):
        notify(
            ticket=ticket,
            users=department_users(task.department),
            subject=subject,
            body=body,
            emails=[task.department.email] if to_address else [],
        )


def department_users(department: Department):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(person__departments=department, is_active=True)
