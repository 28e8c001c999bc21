"""The six-step closed loop: report → triage and assign → handle → supervise → feed back →
evaluate. Every move goes through ``ticket_transition``, which checks the move against
``rules.TRANSITIONS``, saves the ticket under a row lock with a version check and appends an
event. Notifications are written to the outbox in the same transaction and sent after commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.images import CleanImage, image_clean
from core.outbox import outbox_deliver, outbox_message_id, outbox_pending
from core.privacy import scrub_personal_numbers
from grids.models import Area, Department, Post
from grids.rules import AreaKind
from grids.validators import normalize_phone, validate_phone
from issues import permissions as perm
from issues import rules
from issues.models import (
    ApiKey,
    Category,
    DepartmentTask,
    Holiday,
    Level,
    Meeting,
    Notification,
    ReturnVisit,
    Ticket,
    TicketEvent,
    TicketPhoto,
    TicketSettings,
    Tier,
    TierPolicy,
)

log = logging.getLogger(__name__)
S = Ticket.State
E = TicketEvent.Kind

DEFAULT_DAYS = {Tier.SIMPLE: 3, Tier.COMPLEX: 7, Tier.HARD: 15}


class TicketError(ValidationError):
    """A move the workflow does not allow, with a message a worker can act on."""


class StaleTicket(TicketError):
    pass


# --- time limits ------------------------------------------------------------------------------


def working_deadline(
    start: dt.datetime, days: int, *, exclude_weekends: bool = True
) -> dt.datetime:
    """The end (23:59:59 local) of the ``days``-th working day after ``start``. Holidays are
    skipped; a 调休 working day counts even on a weekend. One query."""
    local = timezone.localtime(start)
    horizon = local.date() + dt.timedelta(days=days * 3 + 30)
    special = {
        h.date: h.is_workday
        for h in Holiday.objects.filter(date__gt=local.date(), date__lte=horizon)
    }
    day, counted = local.date(), 0
    while counted < days:
        day += dt.timedelta(days=1)
        weekend = exclude_weekends and day.weekday() >= 5
        counted += special.get(day, not weekend)
    end = dt.datetime.combine(day, dt.time(23, 59, 59))
    return timezone.make_aware(end, timezone.get_current_timezone())


def time_limit_days(tier: str, category: Category | None) -> tuple[int, int]:
    """(time limit, rectification limit) in working days for a tier and category."""
    policy = TierPolicy.objects.filter(tier=tier).first()
    days = policy.time_limit_days if policy else DEFAULT_DAYS[tier]
    rectify = policy.rectification_days if policy else 3
    if category is not None and category.time_limit_days:
        days = category.time_limit_days
    return days, rectify


# --- routing ----------------------------------------------------------------------------------


@dataclass
class Route:
    level: str
    area: Area
    note: str  # says where nobody was in post, or ""


def route(place: Area, start: str) -> Route:
    """The first rung at or above ``start`` whose node over ``place`` has somebody in post.
    Rungs with no such node (a problem reported at the community has no unit) are passed
    over silently; a node with nobody in post is passed over and named. Two queries."""
    chain = list(place.get_ancestors(include_self=True))
    held = set(
        Post.objects.filter(area__in=chain, ended_on__isnull=True).values_list("area_id", "title")
    )
    skipped: list[str] = []
    started = False
    for level, kinds, titles in rules.LADDER:
        started = started or level == start
        if not started:
            continue
        node = next((a for a in reversed(chain) if a.kind in kinds), None)
        if node is None:
            continue
        if any((node.pk, title) in held for title in titles):
            note = ""
            if skipped:
                note = _("nobody in post at %(missing)s; passed on to %(level)s") % {
                    "missing": "、".join(skipped),
                    "level": Level(level).label,
                }
            return Route(level, node, note)
        skipped.append(f"{node.name}{Level(level).label}")
    raise TicketError(_("nobody is in post above this place to take the problem"))


def next_route(ticket: Ticket) -> Route:
    index = rules.LEVEL_ORDER.index(ticket.level)
    if index + 1 >= len(rules.LEVEL_ORDER):
        raise TicketError(_("the county office is the top level: put it on an assignment meeting"))
    return route(ticket.area, rules.LEVEL_ORDER[index + 1])


# --- the one transition -----------------------------------------------------------------------


def _authorise(actor, ticket: Ticket, action: str) -> None:
    if actor is not None and action not in perm.ticket_actions(actor, ticket):
        raise PermissionDenied


def _locked(ticket: Ticket, expected_version: int | None) -> Ticket:
    fresh = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if expected_version is not None and fresh.version != expected_version:
        raise StaleTicket(
            _("someone else changed this problem meanwhile; reload the page and try again")
        )
    return fresh


def ticket_transition(
    *,
    ticket: Ticket,
    to: str,
    actor,
    kind: str,
    note: str = "",
    fields: dict | None = None,
) -> Ticket:
    """Move ``ticket`` (already locked by the caller) to ``to``, setting ``fields``, and append
    the event. Illegal moves raise ``TicketError``."""
    old = ticket.state
    froms, target = rules.MOVES.get(kind, (frozenset(), ""))
    if old not in froms or to != target:
        raise TicketError(
            _("a problem that is %(old)s cannot become %(new)s")
            % {"old": Ticket.State(old).label, "new": Ticket.State(to).label}
        )
    now = timezone.now()
    changes = {"state": to, "updated_at": now, "version": ticket.version + 1, **(fields or {})}
    for name, value in changes.items():
        setattr(ticket, name, value)
    ticket.save(update_fields=list(changes))
    _event(ticket, kind, actor, note, old_state=old, new_state=to, at=now)
    return ticket


def check_move(ticket: Ticket, kind: str) -> None:
    """Refuse a step the ticket's state does not allow, with a message a worker can act on."""
    if kind not in rules.MOVES or ticket.state not in rules.MOVES[kind][0]:
        raise TicketError(
            _("a problem that is %(state)s cannot be %(step)s")
            % {"state": Ticket.State(ticket.state).label, "step": TicketEvent.Kind(kind).label}
        )


def _event(
    ticket: Ticket,
    kind: str,
    actor,
    note: str = "",
    *,
    old_state: str | None = None,
    new_state: str | None = None,
    at=None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        note=note,
        old_state=ticket.state if old_state is None else old_state,
        new_state=ticket.state if new_state is None else new_state,
        at=at or timezone.now(),
        level=ticket.level,
        handler_area=ticket.handler_area,
    )


def _touch(ticket: Ticket, **fields) -> None:
    fields.update(updated_at=timezone.now(), version=ticket.version + 1)
    for name, value in fields.items():
        setattr(ticket, name, value)
    ticket.save(update_fields=list(fields))


# --- notifications ----------------------------------------------------------------------------


def holders_of(area: Area, level: str):
    """Logins of the people in post at ``area`` for ``level``."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(
            person__posts__area=area,
            person__posts__title__in=rules.TITLES_AT[level],
            person__posts__ended_on__isnull=True,
            is_active=True,
        )
        .distinct()
    )


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


def _excerpt(ticket: Ticket) -> str:
    """What a notification quotes of the problem: its start, with phone and ID numbers masked
    (notifications go by e-mail, also to departments' outside addresses)."""
    return scrub_personal_numbers(ticket.description[:200])


def _notify_handler(ticket: Ticket, subject: str) -> None:
    body = _("Problem #%(id)s (%(category)s) at %(place)s: %(text)s\nDeadline: %(deadline)s") % {
        "id": ticket.pk,
        "category": ticket.category.name,
        "place": ticket.area.name,
        "text": _excerpt(ticket),
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


# --- the steps --------------------------------------------------------------------------------

PHOTO_MAX_BYTES = 5 * 1024 * 1024


def photo_clean(*, upload) -> CleanImage:
    """An uploaded photo checked by its content, not its name, and re-encoded: JPEG, PNG or
    WebP only, at most ``PHOTO_MAX_BYTES`` and ``settings.PHOTO_MAX_PIXELS``."""
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photos": _("a photo is larger than 5 MB")})
    try:
        return image_clean(upload)
    except ValidationError as exc:
        raise ValidationError({"photos": exc.messages}) from None


@transaction.atomic
def ticket_report(
    *,
    area: Area,
    category: Category,
    channel: str,
    description: str,
    actor=None,
    reporter=None,
    reporter_name: str = "",
    reporter_phone: str = "",
    visit=None,
    photos: Iterable = (),
    tier: str | None = None,
) -> Ticket:
    """Step 1 (事件上报). With ``tier`` the reporter also triages it (step 2) at once."""
    description = description.strip()
    if not description:
        raise ValidationError({"description": _("describe the problem")})
    if reporter is None and not reporter_phone:
        raise ValidationError({"reporter_phone": _("give the reporter or a phone number")})
    reporter_phone = normalize_phone(reporter_phone)
    if reporter_phone:
        try:
            validate_phone(reporter_phone)
        except ValidationError as exc:
            raise ValidationError({"reporter_phone": exc.messages}) from None
    if len(reporter_name) > 50:
        raise ValidationError({"reporter_name": _("the name is longer than 50 characters")})
    if channel not in Ticket.Channel.values:
        raise ValidationError({"channel": _("unknown channel")})
    photos = [photo_clean(upload=upload) for upload in photos]
    if tier and actor is not None and tier not in perm.triage_tiers(actor, area):
        raise PermissionDenied
    if tier:
        # Someone must be in post to take it before anything (photos included) is stored.
        config = TicketSettings.current()
        route(area, rules.start_level(tier, hard_via_street=config.hard_via_street))
    ticket = Ticket.objects.create(
        area=area,
        category=category,
        channel=channel,
        description=description,
        reporter=reporter,
        reporter_name=reporter_name or (reporter.name if reporter else ""),
        reporter_phone=reporter_phone,
        reported_by=actor,
        visit=visit,
    )
    for photo in photos:
        TicketPhoto.objects.create(
            ticket=ticket,
            kind=photo.kind,
            image=ContentFile(photo.content, name=f"photo.{photo.extension}"),
        )
    _event(
        ticket,
        E.REPORT,
        actor,
        _("via %(channel)s") % {"channel": ticket.get_channel_display()},
        old_state="",
        new_state=S.REPORTED,
    )
    if tier:
        ticket = _assign(Ticket.objects.select_for_update().get(pk=ticket.pk), tier, actor)
    else:
        _notify_triagers(ticket)
    return ticket


def _notify_triagers(ticket: Ticket) -> None:
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
        body=_excerpt(ticket),
    )


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, tier: str, actor, note: str = "", expected_version: int | None = None
) -> Ticket:
    """Step 2 (分流交办): decide the tier; the tree decides who handles it and by when."""
    if tier not in Tier.values:
        raise ValidationError({"tier": _("unknown tier")})
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.ASSIGN)
    _authorise(actor, ticket, perm.ASSIGN)
    return _assign(ticket, tier, actor, note)


def _assign(ticket: Ticket, tier: str, actor, note: str = "") -> Ticket:
    if tier not in Tier.values:
        raise ValidationError({"tier": _("unknown tier")})
    config = TicketSettings.current()
    found = route(ticket.area, rules.start_level(tier, hard_via_street=config.hard_via_street))
    days, _rectify = time_limit_days(tier, ticket.category)
    now = timezone.now()
    ticket = ticket_transition(
        ticket=ticket,
        to=S.ASSIGNED,
        actor=actor,
        kind=E.ASSIGN,
        note=" ".join(filter(None, [note.strip(), found.note])),
        fields={
            "tier": tier,
            "level": found.level,
            "handler_area": found.area,
            "deadline": working_deadline(now, days, exclude_weekends=config.exclude_weekends),
            "assigned_at": now,
        },
    )
    _notify_handler(ticket, _("New problem for you: #%(id)s") % {"id": ticket.pk})
    return ticket


@transaction.atomic
def ticket_accept(*, ticket: Ticket, actor, expected_version: int | None = None) -> Ticket:
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.ACCEPT)
    _authorise(actor, ticket, perm.ACCEPT)
    return ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=actor, kind=E.ACCEPT)


@transaction.atomic
def ticket_progress(
    *, ticket: Ticket, actor, note: str, expected_version: int | None = None
) -> Ticket:
    """Step 3 (服务处置): a progress note; accepting it on the way if need be."""
    if not note.strip():
        raise ValidationError({"note": _("say what was done")})
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.PROGRESS)
    _authorise(actor, ticket, perm.PROGRESS)
    return ticket_transition(
        ticket=ticket, to=S.IN_PROGRESS, actor=actor, kind=E.PROGRESS, note=note.strip()
    )


@transaction.atomic
def ticket_escalate(
    *,
    ticket: Ticket,
    actor,
    note: str = "",
    as_hard: bool = False,
    expected_version: int | None = None,
    overdue: bool = False,
    now: dt.datetime | None = None,
) -> Ticket:
    """Lift it exactly one level (上提一级), or with ``as_hard`` report it up as a hard problem
    (to the street or the county office). ``actor`` None: the overdue job."""
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.ESCALATE)
    _authorise(actor, ticket, perm.ESCALATE)
    if as_hard and actor is not None and Tier.HARD not in perm.triage_tiers(actor, ticket.area):
        raise PermissionDenied  # reporting up as hard is the grid's call and above
    if ticket.level in (Level.COUNTY, Level.DEPARTMENT) and not as_hard:
        raise TicketError(_("the county office is the top level: put it on an assignment meeting"))
    config = TicketSettings.current()
    if as_hard:
        start = rules.start_level(Tier.HARD, hard_via_street=config.hard_via_street)
        if rules.LEVEL_ORDER.index(start) <= rules.LEVEL_ORDER.index(ticket.level):
            found = next_route(ticket)
        else:
            found = route(ticket.area, start)
        tier = Tier.HARD
    else:
        found = next_route(ticket)
        tier = ticket.tier
    days, rectify_days = time_limit_days(tier, ticket.category)
    now = now or timezone.now()
    fields = {
        "tier": tier,
        "level": found.level,
        "handler_area": found.area,
        "escalation_count": ticket.escalation_count + 1,
        "assigned_at": now,
        "deadline": working_deadline(
            now, rectify_days if overdue else days, exclude_weekends=config.exclude_weekends
        ),
    }
    if overdue:
        fields["on_rectification_list"] = True
    text = " ".join(filter(None, [note.strip(), found.note]))
    ticket = ticket_transition(
        ticket=ticket,
        to=S.ASSIGNED,
        actor=actor,
        kind=E.REPORT_UP if as_hard else E.ESCALATE,
        note=text,
        fields=fields,
    )
    if overdue:
        _event(
            ticket,
            E.RECTIFY,
            None,
            _("overdue: new deadline %(deadline)s")
            % {"deadline": timezone.localtime(ticket.deadline).strftime("%Y-%m-%d")},
        )
    _notify_handler(ticket, _("Problem #%(id)s was lifted to you") % {"id": ticket.pk})
    return ticket


@transaction.atomic
def ticket_remind(*, ticket: Ticket, actor, note: str = "") -> Ticket:
    """Step 4 (检查督促): a reminder to whoever holds it."""
    ticket = _locked(ticket, None)
    _authorise(actor, ticket, perm.REMIND)
    _event(ticket, E.REMIND, actor, note.strip())
    _touch(ticket)
    if ticket.level == Level.DEPARTMENT:
        _notify_open_departments(
            ticket, _("Reminder: problem #%(id)s") % {"id": ticket.pk}, note or _excerpt(ticket)
        )
    else:
        _notify_handler(ticket, _("Reminder: problem #%(id)s") % {"id": ticket.pk})
    return ticket


@transaction.atomic
def ticket_resolve(
    *,
    ticket: Ticket,
    actor,
    feedback: str,
    expected_version: int | None = None,
    _system: bool = False,
) -> Ticket:
    """Step 5 (结果反馈): resolved, and the result told to the reporter."""
    if not feedback.strip():
        raise ValidationError({"feedback": _("say what the reporter was told")})
    ticket = _locked(ticket, expected_version)
    if not _system:
        _authorise(actor, ticket, perm.RESOLVE)
    now = timezone.now()
    return ticket_transition(
        ticket=ticket,
        to=S.RESOLVED,
        actor=actor,
        kind=E.RESOLVE,
        note=feedback.strip(),
        fields={
            "feedback": feedback.strip(),
            "resolved_at": now,
            "resolved_level": ticket.level,
            "on_rectification_list": False,
        },
    )


@transaction.atomic
def ticket_rate(
    *, ticket: Ticket, actor, rating: str, comment: str = "", expected_version: int | None = None
) -> Ticket:
    """Step 6 (党群评议): satisfied or basically satisfied closes it; unsatisfied reopens it at
    the same level with a new deadline and counts the reopen."""
    allowed = {Ticket.Rating.SATISFIED, Ticket.Rating.BASIC, Ticket.Rating.UNSATISFIED}
    if rating not in allowed:
        raise ValidationError({"rating": _("unknown rating")})
    ticket = _locked(ticket, expected_version)
    check_move(ticket, E.CLOSE)
    _authorise(actor, ticket, perm.RATE)
    _event(
        ticket,
        E.RATE,
        actor,
        " ".join(filter(None, [str(Ticket.Rating(rating).label), comment.strip()])),
    )
    now = timezone.now()
    if rating == Ticket.Rating.UNSATISFIED:
        config = TicketSettings.current()
        days, _rectify = time_limit_days(ticket.tier, ticket.category)
        fields = {
            "reopen_count": ticket.reopen_count + 1,
            "rating": rating,
            "rating_comment": comment.strip(),
            "resolved_at": None,
            "resolved_level": "",
            "deadline": working_deadline(now, days, exclude_weekends=config.exclude_weekends),
        }
        if ticket.level == Level.DEPARTMENT:
            # The departments' parts are done: the county office takes it back, to hold it
            # again at a meeting.
            county = route(ticket.area, Level.COUNTY)
            fields.update(level=county.level, handler_area=county.area)
        ticket = ticket_transition(
            ticket=ticket,
            to=S.IN_PROGRESS,
            actor=actor,
            kind=E.REOPEN,
            note=comment.strip(),
            fields=fields,
        )
        _notify_handler(ticket, _("Problem #%(id)s was reopened") % {"id": ticket.pk})
        return ticket
    return ticket_transition(
        ticket=ticket,
        to=S.CLOSED,
        actor=actor,
        kind=E.CLOSE,
        fields={"rating": rating, "rating_comment": comment.strip(), "closed_at": now},
    )


def tickets_close_unrated(*, now: dt.datetime | None = None) -> int:
    """Close tickets resolved more than the configured days ago and never rated — as not
    rated, never as satisfied. Safe to run at any time, any number of times."""
    now = now or timezone.now()
    days = TicketSettings.current().rating_days
    due = Ticket.objects.filter(state=S.RESOLVED, resolved_at__lt=now - dt.timedelta(days=days))
    closed = 0
    for pk in due.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=S.RESOLVED)
                .first()
            )
            if ticket is None:
                continue
            ticket_transition(
                ticket=ticket,
                to=S.CLOSED,
                actor=None,
                kind=E.CLOSE,
                note=_("not rated within %(days)s days") % {"days": days},
                fields={"rating": Ticket.Rating.NOT_RATED, "closed_at": now},
            )
            closed += 1
    return closed


def tickets_escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Lift every overdue ticket exactly one level, put it on the rectification list with a
    new deadline and tell the new handler. Running it twice lifts nothing twice: a lifted
    ticket has a deadline in the future. At the county office and with departments there is
    no level above: it goes on the rectification list with a reminder instead."""
    now = now or timezone.now()
    overdue = Ticket.objects.filter(state__in=rules.IN_HAND_STATES, deadline__lt=now)
    count = 0
    for pk in overdue.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state__in=rules.IN_HAND_STATES, deadline__lt=now)
                .first()
            )
            if ticket is None:
                continue  # handled meanwhile, or another worker holds it
            if ticket.level in (Level.COUNTY, Level.DEPARTMENT):
                _rectify_in_place(ticket, now=now)
            else:
                try:
                    ticket_escalate(ticket=ticket, actor=None, overdue=True, now=now)
                except TicketError:
                    _rectify_in_place(ticket, now=now)
            count += 1
    return count


def _rectify_in_place(ticket: Ticket, *, now: dt.datetime | None = None) -> None:
    config = TicketSettings.current()
    _days, rectify_days = time_limit_days(ticket.tier or Tier.HARD, ticket.category)
    deadline = working_deadline(
        now or timezone.now(), rectify_days, exclude_weekends=config.exclude_weekends
    )
    _touch(ticket, on_rectification_list=True, deadline=deadline)
    _event(
        ticket,
        E.RECTIFY,
        None,
        _("overdue: new deadline %(deadline)s")
        % {"deadline": timezone.localtime(deadline).strftime("%Y-%m-%d")},
    )
    if ticket.level == Level.DEPARTMENT:
        _notify_open_departments(
            ticket,
            _("Overdue: problem #%(id)s") % {"id": ticket.pk},
            _excerpt(ticket),
            to_address=True,
        )
    else:
        _notify_handler(ticket, _("Overdue: problem #%(id)s") % {"id": ticket.pk})


# --- assignment meetings ----------------------------------------------------------------------


def _notify_open_departments(
    ticket: Ticket, subject: str, body: str, *, to_address: bool = False
) -> None:
    """Tell every department whose part is still open: its handlers and, with
    ``to_address``, its own mailbox."""
    for task in ticket.tasks.filter(status=DepartmentTask.Status.OPEN).select_related("department"):
        notify(
            ticket=ticket,
            users=_department_users(task.department),
            subject=subject,
            body=body,
            emails=[task.department.email] if to_address else [],
        )


def _department_users(department: Department):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(person__departments=department, is_active=True)


@transaction.atomic
def meeting_open(*, area: Area, title: str, actor, held_on: dt.date | None = None) -> Meeting:
    if not perm.may_hold_meetings(actor, area):
        raise PermissionDenied
    if area.kind != AreaKind.DISTRICT:
        raise ValidationError({"area": _("assignment meetings are held by a county office")})
    if not title.strip():
        raise ValidationError({"title": _("give the meeting a title")})
    return Meeting.objects.create(
        area=area, title=title.strip(), created_by=actor, held_on=held_on or timezone.localdate()
    )


@dataclass
class Part:
    department: Department
    deadline: dt.datetime
    instructions: str = ""


@transaction.atomic
def meeting_assign(
    *,
    meeting: Meeting,
    ticket: Ticket,
    parts: list[Part],
    actor,
    expected_version: int | None = None,
) -> Ticket:
    """Put a hard ticket on the meeting and hand it to one or more departments (交办)."""
    if not parts:
        raise ValidationError({"departments": _("choose at least one department")})
    if len({p.department.pk for p in parts}) != len(parts):
        raise ValidationError({"departments": _("a department is named twice")})
    ticket = _locked(ticket, expected_version)
    _authorise(actor, ticket, perm.MEETING)
    for part in parts:
        DepartmentTask.objects.create(
            meeting=meeting,
            ticket=ticket,
            department=part.department,
            deadline=part.deadline,
            instructions=part.instructions.strip(),
        )
    names = "、".join(p.department.name for p in parts)
    ticket = ticket_transition(
        ticket=ticket,
        to=S.ASSIGNED,
        actor=actor,
        kind=E.MEETING,
        note=_("%(meeting)s: assigned to %(departments)s")
        % {"meeting": meeting.title, "departments": names},
        fields={
            "level": Level.DEPARTMENT,
            "tier": Tier.HARD,
            "deadline": max(p.deadline for p in parts),
            "assigned_at": timezone.now(),
        },
    )
    for part in parts:
        notify(
            ticket=ticket,
            users=_department_users(part.department),
            subject=_("Assigned to %(dept)s at %(meeting)s: problem #%(id)s")
            % {"dept": part.department.name, "meeting": meeting.title, "id": ticket.pk},
            body=part.instructions or _excerpt(ticket),
            emails=[part.department.email],
        )
    return ticket


@transaction.atomic
def department_report(*, task: DepartmentTask, actor, report: str) -> DepartmentTask:
    """A department reports back on its part; the last part done resolves the ticket."""
    if not report.strip():
        raise ValidationError({"report": _("say what the department did")})
    ticket = _locked(task.ticket, None)
    task = DepartmentTask.objects.select_for_update().get(pk=task.pk)
    if actor is not None and task not in perm.open_tasks_for(actor, ticket):
        raise PermissionDenied
    if task.status != DepartmentTask.Status.OPEN:
        raise TicketError(_("this part has already been reported"))
    now = timezone.now()
    task.status, task.report, task.reported_at, task.reported_by = (
        DepartmentTask.Status.DONE,
        report.strip(),
        now,
        actor,
    )
    task.save(update_fields=["status", "report", "reported_at", "reported_by"])
    _event(ticket, E.DEPARTMENT_REPORT, actor, f"{task.department.name}: {task.report}")
    _touch(ticket)
    if ticket.state == S.ASSIGNED:
        ticket_transition(ticket=ticket, to=S.IN_PROGRESS, actor=actor, kind=E.ACCEPT)
    if not ticket.tasks.filter(status=DepartmentTask.Status.OPEN).exists():
        reports = (
            ticket.tasks.filter(status=DepartmentTask.Status.DONE)
            .select_related("department")
            .order_by("pk")
        )
        feedback = "\n".join(f"{t.department.name}: {t.report}" for t in reports)
        ticket_resolve(ticket=ticket, actor=actor, feedback=feedback, _system=True)
    return task


# --- return visits ----------------------------------------------------------------------------


@transaction.atomic
def return_visit_schedule(*, ticket: Ticket, actor, on: dt.date) -> ReturnVisit:
    _authorise(actor, ticket, perm.RETURN_VISIT)
    if on < timezone.localdate():
        raise ValidationError({"on": _("a return visit is scheduled for today or later")})
    visit = ReturnVisit.objects.create(ticket=ticket, scheduled_for=on, by=actor)
    _event(
        ticket,
        E.RETURN_VISIT,
        actor,
        _("return visit scheduled for %(date)s") % {"date": on.isoformat()},
    )
    return visit


@transaction.atomic
def return_visit_log(*, visit: ReturnVisit, actor, note: str) -> ReturnVisit:
    visit = ReturnVisit.objects.select_for_update().select_related("ticket").get(pk=visit.pk)
    _authorise(actor, visit.ticket, perm.RETURN_VISIT)
    if visit.done_at is not None:
        raise TicketError(_("this return visit is already logged"))
    visit.done_at, visit.note, visit.by = timezone.now(), note.strip(), actor
    visit.save(update_fields=["done_at", "note", "by"])
    _event(visit.ticket, E.RETURN_VISIT, actor, note.strip())
    return visit


# --- API keys ---------------------------------------------------------------------------------


def _key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, channel: str) -> tuple[ApiKey, str]:
    """Make a key for one intake channel. Returns the row and the key, which is shown once
    and stored only as a hash."""
    if channel not in Ticket.Channel.values:
        raise ValidationError({"channel": _("unknown channel “%(c)s”") % {"c": channel}})
    raw = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name.strip() or channel, channel=channel, prefix=raw[:8], key_hash=_key_hash(raw)
    )
    return key, raw


def api_key_check(raw: str):
    """The active key matching ``raw``, or None."""
    if not raw:
        return None
    return ApiKey.objects.filter(key_hash=_key_hash(raw), active=True).first()


# --- calling the reporter back ----------------------------------------------------------------

CALL_BACK_ACTIONS = frozenset(
    {perm.PROGRESS, perm.RESOLVE, perm.RATE, perm.RETURN_VISIT, perm.DEPARTMENT_REPORT}
)


def may_call_reporter(user, ticket: Ticket, actions: set[str] | None = None) -> bool:
    """Whoever must tell the reporter the result (or take their rating) may see the number."""
    actions = perm.ticket_actions(user, ticket) if actions is None else actions
    return bool(actions & CALL_BACK_ACTIONS)


def reporter_phone(ticket: Ticket) -> str:
    return ticket.reporter_phone or (ticket.reporter.phone if ticket.reporter_id else "")


@transaction.atomic
def ticket_reporter_phone_reveal(
    *, user, ticket: Ticket, ip: str | None = None, user_agent: str = ""
) -> str:
    """The reporter's full phone number for a call back, logged like any personal data."""
    from issues.models import TicketAccess
    from residents.models import AccessLog
    from residents.services import access_log_record

    if not may_call_reporter(user, ticket):
        raise PermissionDenied
    access_log_record(
        viewer=user,
        resident=ticket.reporter,
        link=lambda log: TicketAccess.objects.create(access_log=log, ticket=ticket),
        field=AccessLog.Field.PHONE,
        ip=ip,
        user_agent=user_agent,
    )
    return reporter_phone(ticket)


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
    from issues.models import TicketAccess
    from residents.models import AccessLog
    from residents.services import access_log_record

    if not may_call_reporter(user, ticket):
        raise PermissionDenied
    access_log_record(
        viewer=user,
        resident=ticket.reporter,
        link=lambda log: TicketAccess.objects.create(access_log=log, ticket=ticket),
        field=AccessLog.Field.DESCRIPTION,
        ip=ip,
        user_agent=user_agent,
    )
    return ticket.description
