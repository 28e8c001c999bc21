"""Telling people: outbox rows written in the same transaction as the change they tell
about, handed to a worker after commit, sent (at least once) through ``core.outbox``."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from core.outbox import outbox_deliver, outbox_message_id, outbox_pending, outbox_queue
from core.privacy import scrub_personal_numbers
from core.requests import portal_url
from core.sms import send_sms, sms_number_or_none
from core.webhook import webhook_post
from grids.models import Department, Person
from grids.rules import AreaKind
from grids.selectors import area_chains, area_lineages
from issues import rules
from issues.models import (
    DepartmentTask,
    Level,
    Notification,
    NotificationChannels,
    NotificationDelivery,
    Ticket,
)
from issues.notes import Note, said
from issues.services.routing import holders_at, holders_of

log = logging.getLogger(__name__)


K = Notification.Kind
SUBJECT_CHARS = Notification._meta.get_field("subject").max_length
C = NotificationDelivery.Channel


@dataclass(frozen=True)
class Message:
    """One notification to several people (and mailboxes) about one problem. ``subject`` and
    each line of ``body`` are a note of the portal's (``issues.notes.Note``: stored as codes,
    shown in each reader's language, sent in the portal's) or a person's own words."""

    ticket: Ticket | None
    users: tuple
    subject: Note | str
    body: Note | str | tuple
    emails: tuple[str, ...] = ()
    kind: str = K.OTHER
    # Whether ``body`` names the problem's place already; if not, ``notify_many`` adds it
    # last (``place_label``): the text goes out by SMS and e-mail, where a problem number
    # alone says nothing of where to go.
    placed: bool = False


def notify(
    *,
    ticket: Ticket | None,
    users: Iterable,
    subject: Note | str,
    body: Note | str | tuple,
    emails: Iterable[str] = (),
    kind: str = K.OTHER,
) -> list[Notification]:
    """Put a notification on each user's list and write its outside deliveries (their
    channels, ``delivery_channels``), and one e-mail to each of ``emails`` (a department's
    mailbox): all now, in the caller's transaction; sent after commit. A down broker never
    fails the caller: the rows stay unsent and ``notifications_sweep`` sends them later.

    Each message has one outbox row and only one: an SMS to a worker is a
    ``NotificationDelivery``, never also a ``core.models.TextMessage``. A group robot that
    several of the users share is posted to once."""
    message = Message(ticket, tuple(users), subject, body, tuple(emails), kind)
    return notify_many([message])


def notify_many(messages: Iterable[Message]) -> list[Notification]:
    """``notify`` for many messages at once (a job's batch): five queries however many
    (the places of their problems read together)."""
    messages = list(messages)
    places = _places_of(m.ticket for m in messages if m.ticket is not None and not m.placed)
    notes, owners, boxes = [], [], []
    everyone: dict[int, object] = {}
    for message in messages:
        lines = list(message.body) if isinstance(message.body, tuple) else [message.body]
        if message.ticket is not None and not message.placed:
            place = places.get(message.ticket.area_id)
            if place:
                lines.append(Note("place", {"place": place}))
        what = {
            "subject": _in_portal_language(message.subject)[:SUBJECT_CHARS],
            "body": "\n".join(filter(None, map(_in_portal_language, lines))).strip(),
            "said": said(message.subject, lines),
        }
        users = list({user.pk: user for user in message.users}.values())
        everyone.update((user.pk, user) for user in users)
        mailboxes = list(dict.fromkeys(email for email in message.emails if email))
        for user in users:
            notes.append(
                Notification(recipient=user, kind=message.kind, ticket=message.ticket, **what)
            )
            owners.append((user, len(boxes)))
        for email in mailboxes:
            notes.append(Notification(kind=message.kind, ticket=message.ticket, **what))
            owners.append((email, len(boxes)))
        boxes.append(set())  # the robots posted to for this message
    if not notes:
        return []
    created = Notification.objects.bulk_create(notes)
    channels = delivery_channels(everyone.values())
    deliveries = []
    for row, (owner, message_index) in zip(created, owners, strict=True):
        if isinstance(owner, str):
            deliveries.append(
                NotificationDelivery(notification=row, channel=C.EMAIL, address=owner)
            )
            continue
        robots = boxes[message_index]
        for channel, address in channels.get(owner.pk, ()):
            if channel == C.WEBHOOK:
                if address in robots:
                    continue
                robots.add(address)
            deliveries.append(
                NotificationDelivery(notification=row, channel=channel, address=address)
            )
    ids = [d.pk for d in NotificationDelivery.objects.bulk_create(deliveries)]
    if ids:
        transaction.on_commit(lambda: _queue(ids))
    return created


def delivery_channels(users: Iterable) -> dict[int, list[tuple[str, str]]]:
    """User id → the outside channels a notification to them goes on, as (channel,
    address): e-mail where they have an address (unless turned off), SMS to their mobile
    (in E.164 form) where they get no e-mail or asked for SMS too, their robot's webhook
    where set. A phone that is not a mainland mobile (a landline) gets no SMS. Two queries
    for any number of users."""
    users = [u for u in users if u.pk is not None]
    if not users:
        return {}
    ids = [u.pk for u in users]
    settings_of = {c.user_id: c for c in NotificationChannels.objects.filter(user_id__in=ids)}
    phones = dict(
        Person.objects.filter(user_id__in=ids).exclude(phone="").values_list("user_id", "phone")
    )
    out: dict[int, list[tuple[str, str]]] = {}
    for user in users:
        chosen = settings_of.get(user.pk)
        by_email = bool(user.email) and (chosen is None or chosen.email)
        channels = [(C.EMAIL, user.email)] if by_email else []
        mobile = sms_number_or_none(phones.get(user.pk))
        if mobile and (not by_email or (chosen is not None and chosen.sms)):
            channels.append((C.SMS, mobile))
        if chosen is not None and chosen.webhook_url.startswith(WEBHOOK_SCHEMES):
            channels.append((C.WEBHOOK, chosen.webhook_url))
        out[user.pk] = channels
    return out


WEBHOOK_SCHEMES = ("https://", "http://")


def _queue(ids: list[int]) -> None:
    from issues.tasks import send_notifications

    outbox_queue(send_notifications, ids, what="notification delivery(ies)")


def notifications_send(*, ids: Iterable[int]) -> int:
    """Send the given delivery rows that are still unsent, each at least once
    (``core.outbox``: claimed and committed, sent outside any transaction, marked sent).
    A row whose send fails records the error and is tried again by the next sweep; it never
    holds up the others. Returns how many were sent."""
    return outbox_deliver(
        model=NotificationDelivery, pks=ids, send=notification_deliver, related=("notification",)
    )


def notifications_sweep(*, limit: int = 1000) -> int:
    """Send what a down broker (or a failed attempt, or a dead worker) left behind."""
    pending = outbox_pending(NotificationDelivery.objects.all()).order_by("pk")
    return notifications_send(ids=list(pending.values_list("pk", flat=True)[:limit]))


SMS_BODY_CHARS = 100


def notification_deliver(row: NotificationDelivery) -> None:
    """One delivery on its channel, the same text and id on every attempt: the e-mail's
    ``Message-ID`` and the SMS's message id (the gateway's idempotency key) are built from
    the delivery row. A robot takes no id; a resent copy there is the at-least-once price."""
    note = row.notification
    link = _link(note)
    if row.channel == C.EMAIL:
        EmailMessage(
            subject=note.subject,
            body="\n\n".join(filter(None, [note.body, link])),
            to=[row.address],
            headers={"Message-ID": outbox_message_id(row, "notification")},
        ).send(fail_silently=False)
    elif row.channel == C.SMS:
        body = note.body if len(note.body) <= SMS_BODY_CHARS else note.body[:SMS_BODY_CHARS] + "…"
        send_sms(
            row.address,
            "\n".join(filter(None, [note.subject, body, link])),
            message_id=outbox_message_id(row, "notification").strip("<>"),
        )
    elif row.channel == C.WEBHOOK:
        webhook_post(row.address, "\n".join(filter(None, [note.subject, note.body, link])))
    else:
        raise ValueError(f"unknown channel {row.channel!r}")


def _link(note: Notification) -> str:
    """The problem's page, in the portal's default language (a worker sends this after the
    request, in no language of its own)."""
    if note.ticket_id is None:
        return ""
    with translation.override(settings.LANGUAGE_CODE):
        return portal_url(reverse("issues:ticket_detail", args=[note.ticket_id]))


# --- the list: read and unread ----------------------------------------------------------------


def notification_read(*, notification: Notification) -> int:
    """Opening a notification: it, and its recipient's other unread notifications about the
    same problem (they have now seen it), are read. Returns how many were unread."""
    unread = Notification.objects.filter(recipient_id=notification.recipient_id, read_at=None)
    if notification.ticket_id is None:
        unread = unread.filter(pk=notification.pk)
    else:
        unread = unread.filter(ticket_id=notification.ticket_id)
    return unread.update(read_at=timezone.now())


def notifications_read_all(*, user) -> int:
    """Everything on ``user``'s list read. Returns how many were unread."""
    return Notification.objects.filter(recipient=user, read_at=None).update(read_at=timezone.now())


def excerpt(ticket: Ticket) -> str:
    """What a notification quotes of the problem: its start, with phone and ID numbers masked
    (notifications go by e-mail, also to departments' outside addresses)."""
    return scrub_personal_numbers(ticket.description[:200])


def place_label(area) -> str:
    """Where a problem is, for a message that leaves the portal: from its grid down
    ("第1网格 › 7栋 › 2单元"; a grid has many buildings with a 2单元 each), or, above the
    grid, the community and the place. One query."""
    return _place_from(area_chains([area])[area.pk])


def _places_of(tickets: Iterable[Ticket]) -> dict[int, str]:
    """Area pk → ``place_label`` for the places of ``tickets``: one query for them all
    (none without tickets)."""
    ids = {ticket.area_id for ticket in tickets if ticket.area_id}
    if not ids:
        return {}
    return {pk: _place_from(chain) for pk, chain in area_lineages(ids).items()}


def _place_from(chain: list) -> str:
    grids = [i for i, node in enumerate(chain) if node.kind == AreaKind.GRID]
    start = grids[0] if grids else max(0, len(chain) - 2)
    return " › ".join(node.name for node in chain[start:])


def _in_portal_language(part: Note | str) -> str:
    """What goes out by SMS and e-mail, and stays in ``subject``/``body``: the portal's
    language, whoever's action wrote it (the reader's language is not known outside)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(part)


def notify_handler(ticket: Ticket, subject: Note | str, *, kind: str = K.ASSIGNED) -> None:
    notify_handlers([(ticket, subject, kind)])


def notify_handlers(items: Iterable[tuple[Ticket, str, str]]) -> None:
    """Tell whoever now holds each problem, for ``(ticket, subject, kind)`` items: the
    places, the holders and the notifications of all of them in a fixed number of queries
    (the overdue job's batch)."""
    items = list(items)
    if not items:
        return
    chains = area_chains([ticket.area for ticket, _s, _k in items])
    holders = holders_at([(ticket.handler_area_id, ticket.level) for ticket, _s, _k in items])
    messages = []
    for ticket, subject, kind in items:
        body = Note(
            "held",
            {
                "id": ticket.pk,
                "category": ticket.category.name,
                "place": _place_from(chains[ticket.area_id]),
                "text": excerpt(ticket),
                "deadline": ticket.deadline.isoformat() if ticket.deadline else "—",
            },
        )
        users = holders.get((ticket.handler_area_id, ticket.level), ())
        messages.append(Message(ticket, tuple(users), subject, body, (), kind, placed=True))
    notify_many(messages)


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
        subject=Note("to_triage", {"id": ticket.pk}),
        body=excerpt(ticket),
        kind=K.TRIAGE,
    )


# --- assignment meetings ----------------------------------------------------------------------


def notify_open_departments(
    ticket: Ticket,
    subject: Note | str,
    body: Note | str,
    *,
    to_address: bool = False,
    kind: str = K.REMINDER,
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
            kind=kind,
        )


def notify_departments_many(tickets, *, subject, body, kind: str = K.REMINDER) -> None:
    """Tell, for each of ``tickets``, every department whose part is still open (its
    handlers): ``subject(ticket)`` and ``body(ticket)``. Three queries for the batch."""
    tickets = {t.pk: t for t in tickets}
    if not tickets:
        return
    parts = list(
        DepartmentTask.objects.filter(
            ticket_id__in=tickets, status=DepartmentTask.Status.OPEN
        ).order_by("ticket_id", "pk")
    )
    handlers = department_handlers({p.department_id for p in parts})
    notify_many(
        Message(
            tickets[p.ticket_id],
            tuple(handlers.get(p.department_id, ())),
            subject(tickets[p.ticket_id]),
            body(tickets[p.ticket_id]),
            (),
            kind,
        )
        for p in parts
    )


def department_handlers(department_ids) -> dict[int, list]:
    """``department_users`` for many departments: department id → active logins. One
    query."""
    handlers: dict[int, list] = {}
    rows = Department.handlers.through.objects.filter(
        department_id__in=department_ids, person__user__is_active=True
    ).select_related("person__user")
    for row in rows:
        handlers.setdefault(row.department_id, []).append(row.person.user)
    return handlers


def department_users(department: Department):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(person__departments=department, is_active=True)
